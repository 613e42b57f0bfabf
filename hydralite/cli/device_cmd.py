"""`perform device-code`: Hydra's example device client (RFC 8628). It asks for a device and a user code, prints
where to enter the code, polls the token endpoint at the announced interval and prints the tokens. With -p it also
serves Hydra's small device page (GET/POST /device, /device/done) for `urls.device.verification`."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from hydralite.cli import CommandError
from hydralite.cli.api import _headers as api_headers
from hydralite.cli.api import base_url, describe
from hydralite.cli.token_cmds import add_client_flags, as_go_token, show_token
from hydralite.cli.verbs import noun

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: on slow_down the interval grows by 5 seconds for good


def _post(client: httpx.Client, url: str, form: dict[str, str]) -> httpx.Response:
    try:
        return client.post(url, data=form)
    except httpx.HTTPError as exc:
        raise CommandError(f"could not reach {url} ({type(exc).__name__}): is the server running? Set --endpoint, "
                           "--device-auth-url or --token-url.") from exc


def _form(args: argparse.Namespace, **extra: str) -> dict[str, str]:
    """Client authentication as Hydra's command sends it: client_id, and client_secret in the body when given."""
    form = {"client_id": args.client_id, **extra}
    if args.client_secret:
        form["client_secret"] = args.client_secret
    return form


def authorize(client: httpx.Client, args: argparse.Namespace, url: str) -> dict[str, Any]:
    scopes = [s for v in args.scope or ["offline,openid"] for s in v.replace(",", " ").split()]
    audiences = [a for v in args.audience or [] for a in v.replace(",", " ").split()]
    form = _form(args, scope=" ".join(scopes))
    if audiences:
        form["audience"] = " ".join(audiences)
    response = _post(client, url, form)
    if response.status_code != 200:
        raise CommandError(f"Failed to perform the device authorization request: {describe(response)}")
    return response.json()


def poll(client: httpx.Client, args: argparse.Namespace, url: str, auth: dict[str, Any]) -> dict[str, Any]:
    """Poll until tokens, a final error, or the device code's expiry (as golang.org/x/oauth2's DeviceAccessToken)."""
    interval = int(auth.get("interval") or 5)
    deadline = time.monotonic() + int(auth.get("expires_in") or 0) if auth.get("expires_in") else None
    while True:
        time.sleep(interval)
        response = _post(client, url, _form(args, grant_type=GRANT, device_code=auth["device_code"]))
        if response.status_code == 200:
            return response.json()
        try:
            error = response.json().get("error")
        except ValueError:
            error = None
        if error == "slow_down":
            interval += _SLOW_DOWN_STEP
        elif error != "authorization_pending":
            raise CommandError(f"Failed to perform the device token request: {describe(response)}")
        if deadline is not None and time.monotonic() + interval > deadline:
            raise CommandError("Failed to perform the device token request: the device code expired before the "
                               "user signed in")


def run(args: argparse.Namespace) -> int:
    if not args.client_id:
        raise CommandError("Please provide a Client ID using --client-id flag, or OAUTH2_CLIENT_ID environment "
                           "variable.")
    public = base_url(args, public=True)
    server = _serve(args) if args.port >= 0 else None
    try:
        with httpx.Client(timeout=30, verify=not args.skip_tls_verify, headers=api_headers(args)) as client:
            auth = authorize(client, args, args.device_auth_url or f"{public}/oauth2/device/auth")
            print(f"To login please go to:\n\t {auth.get('verification_uri_complete')}", file=sys.stderr)
            print(f"or open {auth.get('verification_uri')} and enter the code {auth.get('user_code')}",
                  file=sys.stderr, flush=True)
            token = poll(client, args, args.token_url or f"{public}/oauth2/token", auth)
    finally:
        if server is not None:
            server.shutdown()
    print("Successfully signed in!", file=sys.stderr, flush=True)
    show_token(args, as_go_token(token))
    return 0


def _serve(args: argparse.Namespace) -> ThreadingHTTPServer:
    """Hydra's -p page: enter the user code, accept it through the admin API, follow its redirect_to."""
    admin = (args.admin_endpoint or base_url(args, public=True)).rstrip("/")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *a: Any) -> None:  # quiet: codes must not reach logs
            pass

        def _answer(self, status: int, body: str = "", location: str = "") -> None:
            data = body.encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/device/done":
                return self._answer(200, "You can now close this window and return to the application.\n")
            if parts.path != "/device":
                return self._answer(404, "404 page not found\n")
            if not query.get("device_challenge"):
                return self._answer(400, "device_challenge is required\n")
            self._answer(200, (
                "<html><body><h1>Device Authorization</h1><form method=\"POST\" action=\"/device\">"
                f"<input type=\"hidden\" name=\"device_challenge\" value=\"{escape(query['device_challenge'])}\">"
                "<p>Enter your code to authorize the device:</p>"
                f"<input type=\"text\" name=\"user_code\" value=\"{escape(query.get('user_code', ''))}\">"
                "<input type=\"submit\" value=\"Submit\"></form></body></html>"))

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            declared = (self.headers.get("Content-Length") or "0").strip()
            size = min(int(declared), 65536) if declared.isdigit() else 0
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(size).decode("utf-8", "replace")).items()}
            code, challenge = form.get("user_code", ""), form.get("device_challenge", "")
            if urlsplit(self.path).path != "/device" or not code or not challenge:
                return self._answer(400, "user_code and device_challenge are required\n")
            try:
                answer = httpx.put(f"{admin}/admin/oauth2/auth/requests/device/accept",
                                   params={"device_challenge": challenge}, content=json.dumps({"user_code": code}),
                                   headers={"Content-Type": "application/json", **api_headers(args)}, timeout=30,
                                   verify=not args.skip_tls_verify)
            except httpx.HTTPError as exc:
                return self._answer(500, f"Failed to accept user code request: {escape(str(exc))}\n")  # as Hydra
            redirect = answer.json().get("redirect_to") if answer.status_code == 200 else ""
            if not redirect:
                return self._answer(500, f"Failed to accept user code request: {escape(describe(answer))}\n")
            self._answer(303, location=redirect)

    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as exc:
        raise CommandError(f"could not start debug server on port {args.port}: {exc.strerror}") from exc
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def register(sub: argparse._SubParsersAction) -> None:
    p = noun(sub, "perform", "device-code", "sign in a device with the device authorization grant (RFC 8628)")
    add_client_flags(p)
    p.add_argument("--scope", action="append", default=None, help="scopes (default offline openid)")
    p.add_argument("--audience", action="append", default=[], help="audiences to request")
    p.add_argument("--device-auth-url", default="", help="device authorization URL "
                   "(default <endpoint>/oauth2/device/auth)")
    p.add_argument("--token-url", default="", help="token URL (default <endpoint>/oauth2/token)")
    p.add_argument("-p", "--port", type=int, default=-1, help="serve a device page on 127.0.0.1:<port>/device (set "
                   "urls.device.verification to it)")
    # Hydralite only: Hydra's CLI calls the admin API at --endpoint, where hydralite serves it on its own port.
    p.add_argument("--admin-endpoint", default="", help="admin API URL for the -p device page (default: --endpoint)")
    p.set_defaults(func=run)
