"""`perform authorization-code`: a local callback server (HTTP or HTTPS) with Hydra's pages, the browser, PKCE,
and the code exchange; under --no-shutdown it signs in again and again, each time with new state and PKCE."""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import secrets
import ssl
import sys
import tempfile
import threading
import webbrowser
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hydralite.cli import CommandError
from hydralite.cli import authcode_ui as ui
from hydralite.cli.api import _headers as api_headers
from hydralite.cli.api import base_url, describe
from hydralite.cli.authcode_ui import AdminError, LoginConsentUI, Page
from hydralite.cli.token_cmds import add_client_flags, as_go_token, basic, credentials, show_token
from hydralite.cli.verbs import noun


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Attempt:
    """One sign-in: its state, nonce and PKCE pair, and the authorization URL that carries them."""

    state: str
    verifier: str
    auth_url: str


class Flow:
    """State shared between the callback server thread and the command."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.client_id, self.secret = credentials(args)
        self.public = base_url(args, public=True)
        self.location = f"{'https' if args.https else 'http'}://127.0.0.1:{args.port}/"
        self.redirect = args.redirect or self.location + "callback"
        self.token_url = args.token_url or f"{self.public}/oauth2/token"
        self.ui = LoginConsentUI(args.admin_endpoint or self.public, args.skip, not args.skip_tls_verify,
                                 api_headers(args), lambda line: print(line, file=sys.stderr, flush=True))
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.done = threading.Event()
        self._lock = threading.Lock()
        self.attempt = self._new_attempt()

    def _new_attempt(self) -> Attempt:
        args = self.args
        state = args.state or secrets.token_urlsafe(24)
        verifier, challenge = _pkce()
        scopes = [s for v in args.scope or ["offline", "openid"] for s in v.replace(",", " ").split()]
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect,
                  "scope": " ".join(scopes), "state": state, "nonce": secrets.token_urlsafe(18),
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        # --prompt and --audience are Hydra's string slices: repeated or comma-separated, sent space-separated.
        for name in ("prompt", "audience"):
            values = [v for flag in getattr(args, name) for v in flag.split(",") if v]
            if values:
                params[name] = " ".join(values)
        if args.response_mode:
            params["response_mode"] = args.response_mode
        if args.max_age >= 0:  # Hydra's -1 means "no max_age"; 0 asks for a fresh login
            params["max_age"] = str(args.max_age)
        return Attempt(state, verifier, f"{args.auth_url or self.public + '/oauth2/auth'}?{urlencode(params)}")

    def current(self) -> Attempt:
        with self._lock:
            return self.attempt

    def finished(self) -> None:
        """As Hydra: stop after the first callback, or (--no-shutdown) start over with new state, nonce and PKCE."""
        if not self.args.no_shutdown:
            self.done.set()
            return
        with self._lock:
            self.attempt = self._new_attempt()
        print(f"Open this URL in a browser to sign in again:\n{self.attempt.auth_url}", file=sys.stderr, flush=True)

    def callback(self, query: dict[str, str]) -> Page:
        """Check and redeem one callback; the caller sends the page, then calls finished()."""
        attempt = self.current()
        try:
            if query.get("error"):
                page = ui.error(500, query["error"], query.get("error_description", ""), query.get("error_hint", ""),
                                query.get("error_debug", ""))
                raise CallbackError(f"the authorization server answered {query['error']}: "
                                    f"{query.get('error_description', '')}", page)
            if not secrets.compare_digest(query.get("state", ""), attempt.state):
                raise CallbackError("the state in the callback does not match: refusing the code")
            self.result = as_go_token(self.exchange(query.get("code", ""), attempt))
            if self.args.no_shutdown:  # the command keeps serving: print each sign-in's tokens now
                show_token(self.args, self.result)
                sys.stdout.flush()
            return ui.result(self.result, self.location if self.args.no_shutdown else None)
        except CallbackError as exc:
            self.error = str(exc)
            if self.args.no_shutdown:
                print(f"Error: {exc}", file=sys.stderr, flush=True)
            return exc.page or ui.error(500, str(exc))  # Hydra's CLI: every callback failure is a 500 page

    def exchange(self, code: str, attempt: Attempt) -> dict[str, Any]:
        import httpx

        try:
            response = httpx.post(self.token_url, auth=basic(self.client_id, self.secret), timeout=30, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect,
                "code_verifier": attempt.verifier})
        except httpx.HTTPError as exc:  # the callback thread must end the flow, not die with a traceback
            raise CallbackError(f"could not reach the token endpoint at {self.token_url} ({type(exc).__name__}): "
                                "is the server running? Set --endpoint or --token-url.") from exc
        if response.status_code != 200:
            raise CallbackError(f"the code exchange failed with {response.status_code}: {describe(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise CallbackError(f"the token endpoint at {self.token_url} did not answer JSON") from exc


class CallbackError(CommandError):
    """Ends a sign-in; `page` is what the browser sees (by default the message)."""

    def __init__(self, message: str, page: Page | None = None):
        super().__init__(message)
        self.page = page


def _handler(flow: Flow) -> type[BaseHTTPRequestHandler]:
    callback_path = urlsplit(flow.redirect).path or "/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: tokens must not reach logs
            pass

        def _send(self, page: Page) -> None:
            data = page.body.encode()
            self.send_response(page.status)
            if page.location:
                self.send_header("Location", page.location)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, list[str]]:
            declared = (self.headers.get("Content-Length") or "0").strip()
            length = min(int(declared), 65536) if declared.isdigit() else 0
            return parse_qs(self.rfile.read(length).decode("utf-8", "replace"))

        def _route(self, method: str) -> Page | None:
            parts = urlsplit(self.path)
            values = self._form() if method == "POST" else parse_qs(parts.query)
            if parts.path == callback_path:  # --response-mode form_post posts the same parameters
                try:
                    self._send(flow.callback({k: v[0] for k, v in values.items()}))
                finally:  # only once the browser has its page: the command may exit right after
                    flow.finished()
                return None
            if method == "GET" and parts.path == "/":
                return ui.welcome(flow.current().auth_url)
            if method == "GET" and parts.path == "/perform-flow":
                return Page(302, location=flow.current().auth_url)
            steps = {("GET", "/login"): flow.ui.login_get, ("POST", "/login"): flow.ui.login_post,
                     ("GET", "/consent"): flow.ui.consent_get, ("POST", "/consent"): flow.ui.consent_post}
            step = steps.get((method, parts.path))
            if step is None:
                return Page(404, "404 page not found")
            try:
                return step(values)
            except AdminError as exc:
                return ui.error(exc.status, "The admin API refused the step", str(exc))

        def _answer(self, method: str) -> None:
            page = self._route(method)
            if page is not None:
                self._send(page)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            self._answer("POST")

    return Handler


def _tls_context() -> ssl.SSLContext:
    """A self-signed certificate made at start, as Hydra's --https does (RSA 2048, 31 days, CN "ORY")."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ORY GmbH"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "ORY")])
    now = datetime.now(UTC)
    # Hydralite also names 127.0.0.1 (Hydra: localhost only), since the callback listens there.
    names = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=31))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(names, critical=False)
            .sign(key, hashes.SHA256()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="hydralite-tls-") as folder:  # the ssl module loads only from files
        path = Path(folder) / "callback.pem"
        path.touch(mode=0o600)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.write_bytes(pem + cert.public_bytes(serialization.Encoding.PEM))
        context.load_cert_chain(path)
    return context


def run(args: argparse.Namespace) -> int:
    flow = Flow(args)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(flow))
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}): choose another --port") from exc
    if args.https:
        server.socket = _tls_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"Setting up home route on {flow.location}", file=sys.stderr)
    print(f"Setting up callback listener on {flow.redirect}", file=sys.stderr)
    print("Press ctrl + c to end the process.", file=sys.stderr)
    print(f"Open this URL in a browser to sign in:\n{flow.current().auth_url}", file=sys.stderr, flush=True)
    if not args.no_open:
        webbrowser.open(flow.location)
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
    p.add_argument("--prompt", action="append", default=[])
    p.add_argument("--max-age", type=int, default=-1, help="OpenID Connect max_age (-1, the default: none)")
    p.add_argument("--redirect", default="", help="redirect URI (default http://127.0.0.1:<port>/callback)")
    p.add_argument("--state", default="")
    p.add_argument("--auth-url", default="")
    p.add_argument("--token-url", default="")
    p.add_argument("--response-mode", default="")
    p.add_argument("--no-open", action="store_true", help="do not open a browser; print the URL")
    p.add_argument("--no-shutdown", action="store_true",
                   help="keep serving after each callback; every sign-in gets new state, nonce and PKCE values")
    p.add_argument("--https", action="store_true",
                   help="serve the callback over HTTPS with a self-signed certificate made at start")
    p.add_argument("--skip", action="store_true", help="accept login and consent steps that may be skipped, when "
                   "urls.login and urls.consent point at this server's /login and /consent")
    # Hydralite only: Hydra's CLI calls the admin API at --endpoint, where hydralite serves it on its own port.
    p.add_argument("--admin-endpoint", default="", help="admin API URL for the built-in login and consent steps "
                   "(default: --endpoint)")
