"""`perform authorization-code`: a local callback server, the browser, PKCE, and the code exchange."""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import secrets
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hydralite.cli import CommandError
from hydralite.cli.api import base_url, describe
from hydralite.cli.token_cmds import add_client_flags, as_go_token, basic, credentials, show_token
from hydralite.cli.verbs import noun


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Flow:
    """State shared between the callback server thread and the command."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.client_id, self.secret = credentials(args)
        self.public = base_url(args, public=True)
        self.redirect = args.redirect or f"http://127.0.0.1:{args.port}/callback"
        self.state = args.state or secrets.token_urlsafe(24)
        self.verifier, challenge = _pkce()
        scopes = [s for v in args.scope or ["offline", "openid"] for s in v.replace(",", " ").split()]
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect,
                  "scope": " ".join(scopes),
                  "state": self.state, "code_challenge": challenge, "code_challenge_method": "S256"}
        for name in ("prompt", "response_mode"):
            if getattr(args, name):
                params[name] = str(getattr(args, name))
        if args.max_age >= 0:  # Hydra's -1 means "no max_age"; 0 asks for a fresh login
            params["max_age"] = str(args.max_age)
        if args.audience:
            params["audience"] = " ".join(args.audience)
        self.auth_url = f"{args.auth_url or self.public + '/oauth2/auth'}?{urlencode(params)}"
        self.token_url = args.token_url or f"{self.public}/oauth2/token"
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def exchange(self, code: str) -> dict[str, Any]:
        import httpx

        try:
            response = httpx.post(self.token_url, auth=basic(self.client_id, self.secret), timeout=30, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect,
                "code_verifier": self.verifier})
        except httpx.HTTPError as exc:  # the callback thread must end the flow, not die with a traceback
            raise CommandError(f"could not reach the token endpoint at {self.token_url} ({type(exc).__name__}): "
                               "is the server running? Set --endpoint or --token-url.") from exc
        if response.status_code != 200:
            raise CommandError(f"the code exchange failed with {response.status_code}: {describe(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise CommandError(f"the token endpoint at {self.token_url} did not answer JSON") from exc


def _handler(flow: Flow) -> type[BaseHTTPRequestHandler]:
    callback_path = urlsplit(flow.redirect).path or "/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: tokens must not reach logs
            pass

        def _page(self, status: int, body: str) -> None:
            data = f"<!DOCTYPE html><html><body>{body}</body></html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - --response-mode form_post posts the same parameters
            declared = (self.headers.get("Content-Length") or "0").strip()
            length = min(int(declared), 65536) if declared.isdigit() else 0
            form = self.rfile.read(length).decode("utf-8", "replace")
            self.path = f"{urlsplit(self.path).path}?{form}"
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            if parts.path != callback_path:
                self._page(200, f'<h1>hydralite</h1><p><a href="{html.escape(flow.auth_url)}">Authorize '
                                "application</a></p>")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            try:
                if query.get("error"):
                    raise CommandError(f"the authorization server answered {query['error']}: "
                                       f"{query.get('error_description', '')}")
                if not secrets.compare_digest(query.get("state", ""), flow.state):
                    raise CommandError("the state in the callback does not match: refusing the code")
                flow.result = as_go_token(flow.exchange(query.get("code", "")))
                self._page(200, "<h1>Success</h1><p>The tokens are printed in your terminal.</p>")
                if flow.args.no_shutdown:  # the command keeps serving: print each sign-in's tokens now
                    show_token(flow.args, flow.result)
                    sys.stdout.flush()
            except CommandError as exc:
                flow.error = str(exc)
                self._page(400, f"<h1>Error</h1><p>{html.escape(str(exc))}</p>")
            if not flow.args.no_shutdown:
                flow.done.set()

    return Handler


def run(args: argparse.Namespace) -> int:
    flow = Flow(args)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(flow))
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}): choose another --port") from exc
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"Setting up home route on http://127.0.0.1:{args.port}/", file=sys.stderr)
    print(f"Setting up callback listener on {flow.redirect}", file=sys.stderr)
    print("Press ctrl + c to end the process.", file=sys.stderr)
    print(f"Open this URL in a browser to sign in:\n{flow.auth_url}", file=sys.stderr, flush=True)
    if not args.no_open:
        webbrowser.open(f"http://127.0.0.1:{args.port}/")
    try:
        flow.done.wait()
    finally:
        server.shutdown()
    if flow.error:
        raise CommandError(flow.error)
    assert flow.result is not None
    show_token(args, flow.result)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = noun(sub, "perform", "authorization-code", "sign in through the browser and print the tokens")
    add_flags(p)
    p.set_defaults(func=run)


def add_flags(p: argparse.ArgumentParser) -> None:
    add_client_flags(p)
    p.add_argument("-p", "--port", type=int, default=4446, help="port of the local callback server (4446)")
    p.add_argument("--scope", action="append", default=None, help="scopes (default offline openid)")
    p.add_argument("--audience", action="append", default=[])
    p.add_argument("--prompt", default="")
    p.add_argument("--max-age", type=int, default=-1, help="OpenID Connect max_age (-1, the default: none)")
    p.add_argument("--redirect", default="", help="redirect URI (default http://127.0.0.1:<port>/callback)")
    p.add_argument("--state", default="")
    p.add_argument("--auth-url", default="")
    p.add_argument("--token-url", default="")
    p.add_argument("--response-mode", default="")
    p.add_argument("--no-open", action="store_true", help="do not open a browser; print the URL")
    p.add_argument("--no-shutdown", action="store_true", help="keep serving after the first callback")
