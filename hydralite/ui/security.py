"""Browser-facing protections of the example app: anti-framing and CSP headers on every response,
and a CSRF token that binds each form to one browser and one challenge."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hydralite.ui import pages
from hydralite.ui.admin_api import PageError

log = logging.getLogger("hydralite.ui")

CSRF_COOKIE = "hydralite_ui_csrf"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Adds the anti-framing and CSP headers to every response, and turns a crash into a plain 500 page."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("example UI: unexpected error")
            if started:
                raise
            page = pages.error("Something went wrong", "The login app failed; please try again.")
            await HTMLResponse(page, 500)(scope, receive, send_with_headers)


class Csrf:
    """Double-submit token bound to the challenge: the form carries HMAC(key, browser cookie | challenge)."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(32)  # per process: a restart invalidates open forms, nothing else

    def token(self, browser: str, challenge: str) -> str:
        return hmac.new(self.key, f"{browser}|{challenge}".encode(), "sha256").hexdigest()

    def check(self, request: Request, challenge: str, token: str) -> None:
        browser = request.cookies.get(CSRF_COOKIE, "")
        if not browser or not hmac.compare_digest(self.token(browser, challenge), token):
            raise PageError(403, "Form expired", "This form is invalid or has expired. Go back and try again.")

    def form_page(self, request: Request, render: Callable[[str], str]) -> Response:
        """Render a form with its token, setting the browser cookie on first visit."""
        browser = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = HTMLResponse(render(self.token(browser, request.state.challenge)))
        if request.cookies.get(CSRF_COOKIE) != browser:
            response.set_cookie(CSRF_COOKIE, browser, httponly=True, samesite="lax", path="/",
                                secure=request.url.scheme == "https")
        return response
