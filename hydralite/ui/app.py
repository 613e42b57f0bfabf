"""The example login, consent and logout app: the pattern to copy into your own application.

hydralite sends the browser here with a challenge; the app reads the request through the admin
API, shows a page (or skips it when hydralite says the user is already known), then accepts or
rejects through the admin API and sends the browser to the returned `redirect_to` with a 303.
It talks to hydralite only over HTTP, so it could run anywhere the admin API is reachable.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hydralite.ui import pages
from hydralite.ui.admin_api import HydraAdmin, PageError
from hydralite.ui.security import Csrf, SecurityHeaders

log = logging.getLogger("hydralite.ui")

DEMO_EMAIL, DEMO_PASSWORD = "foo@bar.com", "foobar"
REMEMBER_FOR = 3600
DENIED = {"error": "access_denied", "error_description": "The resource owner denied the request"}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _challenge(request: Request, kind: str) -> str:
    challenge = request.query_params.get(f"{kind}_challenge", "")
    if not challenge:
        raise PageError(400, "Missing challenge", f"The {kind}_challenge query parameter is missing. "
                        "This page is opened by hydralite during sign-in, not directly.")
    request.state.challenge = challenge
    return challenge


def _client_name(req: dict[str, Any]) -> str:
    client = req.get("client") or {}
    return str(client.get("client_name") or client.get("client_id") or "an application")


def _id_token_claims(subject: str, scopes: list[str]) -> dict[str, Any]:
    """Claims added to the ID token: the demo user's email, when the `email` scope was granted."""
    if "email" in scopes and subject == DEMO_EMAIL:
        return {"email": DEMO_EMAIL, "email_verified": True}
    return {}


def _go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def create_app(admin_url: str) -> Starlette:
    """The login/consent/logout app against hydralite's admin API at `admin_url`."""
    hydra = HydraAdmin(admin_url)
    csrf = Csrf()

    async def posted(request: Request) -> tuple[FormData, str]:
        form = await request.form()
        challenge = _text(form, "challenge")
        request.state.challenge = challenge
        csrf.check(request, challenge, _text(form, "csrf"))
        return form, challenge

    async def home(request: Request) -> Response:
        return HTMLResponse(pages.index())

    async def static_css(request: Request) -> Response:
        return Response(pages.CSS, media_type="text/css")

    async def login_get(request: Request) -> Response:
        challenge = _challenge(request, "login")
        req = await hydra.get("login", challenge)
        if req.get("skip"):  # hydralite already knows the user: never show the form, accept the same subject
            return _go(await hydra.accept("login", challenge, {"subject": req.get("subject", "")}))
        hint = (req.get("oidc_context") or {}).get("login_hint", "")
        return csrf.form_page(request, lambda token: pages.login(challenge, token, _client_name(req), hint))

    async def login_post(request: Request) -> Response:
        form, challenge = await posted(request)
        if _text(form, "action") == "deny":
            return _go(hydra.redirect_url(await hydra.reject("login", challenge, DENIED)))
        email, password = _text(form, "email"), _text(form, "password")
        if not (hmac.compare_digest(email.encode(), DEMO_EMAIL.encode())
                and hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode())):
            req = await hydra.get("login", challenge)
            return csrf.form_page(request, lambda token: pages.login(
                challenge, token, _client_name(req), email, "The email address or password is wrong."))
        remember = _text(form, "remember") == "1"
        body: dict[str, Any] = {"subject": DEMO_EMAIL, "remember": remember}
        if remember:
            body["remember_for"] = REMEMBER_FOR
        return _go(await hydra.accept("login", challenge, body))

    async def accept_consent(challenge: str, req: dict[str, Any], scopes: list[str], remember: bool) -> Response:
        body: dict[str, Any] = {
            "grant_scope": scopes,
            "grant_access_token_audience": req.get("requested_access_token_audience") or [],
            "remember": remember,
            "session": {"access_token": {}, "id_token": _id_token_claims(req.get("subject", ""), scopes)},
        }
        if remember:
            body["remember_for"] = REMEMBER_FOR
        return _go(await hydra.accept("consent", challenge, body))

    async def consent_get(request: Request) -> Response:
        challenge = _challenge(request, "consent")
        req = await hydra.get("consent", challenge)
        requested = req.get("requested_scope") or []
        if req.get("skip") or (req.get("client") or {}).get("skip_consent"):
            return await accept_consent(challenge, req, requested, remember=False)
        return csrf.form_page(request, lambda token: pages.consent(
            challenge, token, _client_name(req), req.get("subject", ""), requested,
            req.get("requested_access_token_audience") or []))

    async def consent_post(request: Request) -> Response:
        form, challenge = await posted(request)
        if _text(form, "action") == "deny":
            return _go(hydra.redirect_url(await hydra.reject("consent", challenge, DENIED)))
        req = await hydra.get("consent", challenge)  # the requested scopes bound what may be granted
        ticked = set(form.getlist("grant_scope"))
        scopes = [s for s in req.get("requested_scope") or [] if s in ticked]
        return await accept_consent(challenge, req, scopes, remember=_text(form, "remember") == "1")

    async def device_get(request: Request) -> Response:
        challenge = _challenge(request, "device")
        await hydra.get("device", challenge)  # unknown, expired, used or locked: the matching error page
        code = request.query_params.get("user_code", "")
        return csrf.form_page(request, lambda token: pages.device(challenge, token, code))

    async def device_post(request: Request) -> Response:
        form, challenge = await posted(request)
        code = _text(form, "user_code")
        try:
            return _go(await hydra.accept("device", challenge, {"user_code": code}))
        except PageError as exc:
            if exc.status != 400:
                raise
            return csrf.form_page(request, lambda token: pages.device(
                challenge, token, code, "That code is not valid. Check it on your device and try again."))

    async def device_done(request: Request) -> Response:
        return HTMLResponse(pages.device_done(request.query_params.get("client_id", "")))

    async def logout_get(request: Request) -> Response:
        challenge = _challenge(request, "logout")
        req = await hydra.get("logout", challenge)
        return csrf.form_page(request, lambda token: pages.logout(challenge, token, req.get("subject") or ""))

    async def logout_post(request: Request) -> Response:
        form, challenge = await posted(request)
        if _text(form, "action") == "accept":
            return _go(await hydra.accept("logout", challenge))
        await hydra.reject("logout", challenge)  # hydralite answers 204: this app says what happens next
        return HTMLResponse(pages.still_signed_in())

    async def on_page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return HTMLResponse(pages.error(exc.title, exc.message, exc.link), exc.status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        title = "Not found" if exc.status_code == 404 else "Request not allowed"
        return HTMLResponse(pages.error(title, str(exc.detail)), exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await hydra.close()

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        PageError: on_page_error, HTTPException: on_http_error}
    app = Starlette(routes=[
        Route("/", home), Route("/static.css", static_css),
        Route("/login", login_get, methods=["GET"]), Route("/login", login_post, methods=["POST"]),
        Route("/consent", consent_get, methods=["GET"]), Route("/consent", consent_post, methods=["POST"]),
        Route("/logout", logout_get, methods=["GET"]), Route("/logout", logout_post, methods=["POST"]),
        Route("/device", device_get, methods=["GET"]), Route("/device", device_post, methods=["POST"]),
        Route("/device/done", device_done, methods=["GET"]),
    ], exception_handlers=handlers, lifespan=lifespan)
    app.add_middleware(SecurityHeaders)
    return app


async def serve_ui(host: str, port: int, admin_url: str, shutdown_trigger: Callable[[], Awaitable[Any]]) -> None:
    """Serve the app with Hypercorn until `shutdown_trigger` completes (e.g. `stop_event.wait`)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    # As server.py: Hypercorn's own stderr logger would repeat "Running on …" in its format next to the line below.
    config.errorlog = logging.getLogger("hypercorn.error") if log.isEnabledFor(logging.DEBUG) else None
    config.include_server_header = False
    config.graceful_timeout = 5
    log.info("serving the example login/consent UI on http://%s:%s (admin API %s)", host, port, admin_url)
    await serve(create_app(admin_url), config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]
