"""Public browser routes: /oauth2/auth, /userinfo and the fallback pages used when no UI is configured."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hydralite.engine import authorize, flows, oidc
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, single
from hydralite.engine.logout import Logout
from hydralite.errors import InvalidToken, OAuthError
from hydralite.web.common import NO_STORE, oauth_json, read_form

#: RFC 9700 §4.16: pages of the authorization flow must not be framed.
FRAME_GUARD = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
_VERIFIERS = ("login_verifier", "consent_verifier")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
           f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(doc, status_code=status, headers={**FRAME_GUARD, **NO_STORE})


def error_page(engine: Engine, error: OAuthError) -> Response:
    data = error.to_dict(engine.config.expose_internal_errors)
    default = f"{engine.config.public_url}/oauth2/fallbacks/error"
    if engine.config.error_url != default:
        return RedirectResponse(f"{engine.config.error_url}?{urlencode(data)}", status_code=302, headers=FRAME_GUARD)
    return _page("An error occurred",
                 f"<p><code>{html.escape(data['error'])}</code></p><p>{html.escape(data['error_description'])}</p>",
                 status=400)


def _same_site(engine: Engine) -> str:
    mode = engine.config.cookie_same_site
    if mode == "None" and not engine.config.issuer.startswith("https://"):
        return "lax"  # Hydra downgrades SameSite=None when the issuer is not https
    return mode.lower()


def _send(engine: Engine, outcome: authorize.Response) -> Response:
    if outcome.body:
        response: Response = HTMLResponse(outcome.body, status_code=outcome.status, headers={**FRAME_GUARD, **NO_STORE})
    else:
        response = RedirectResponse(outcome.location, status_code=outcome.status, headers={**FRAME_GUARD, **NO_STORE})
    for name, value, max_age in outcome.cookies:
        if max_age <= 0:
            response.delete_cookie(name, path="/")
            continue
        response.set_cookie(name, value, max_age=max_age, path=engine.config.session_cookie_path, httponly=True,
                            secure=engine.config.secure_cookies, samesite=_same_site(engine),  # type: ignore[arg-type]
                            domain=engine.config.cookie_domain or None)
    return response


async def _params(request: Request) -> Form:
    if request.method == "POST":
        return await read_form(request)
    form: Form = {}
    for name, value in request.query_params.multi_items():
        form.setdefault(name, []).append(value)
    return form


def routes(engine: Engine) -> list[Route]:
    async def auth(request: Request) -> Response:
        try:
            params = await _params(request)
            req = await authorize.validate(engine, params)
            cookies = dict(request.cookies)
            login_verifier, consent_verifier = single(params, "login_verifier"), single(params, "consent_verifier")
            if consent_verifier:
                outcome = await flows.after_consent(engine, req, consent_verifier, cookies)
            elif login_verifier:
                outcome = await flows.after_login(engine, req, login_verifier, cookies)
            else:
                query = urlencode([(k, v) for k, vs in params.items() if k not in _VERIFIERS for v in vs])
                url = f"{engine.config.public_url}/oauth2/auth?{query}"
                outcome = await flows.start_login(engine, req, cookies, url)
        except authorize.ErrorPage as exc:
            return error_page(engine, exc.error)
        except authorize.ClientError as exc:
            return _send(engine, authorize.error_response(engine, exc))
        except OAuthError as exc:
            return error_page(engine, exc)
        return _send(engine, outcome)

    async def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            token = ""
            if request.method == "POST" and not header:
                token = single(await read_form(request), "access_token")
        record = await oidc.userinfo_token(engine, token.strip())
        if record is None:
            err = InvalidToken("The access token is missing, expired, revoked or malformed.")
            challenge = f'Bearer error="invalid_token",error_description="{err.full_description()}"'
            return oauth_json(err.to_dict(), 401, {"WWW-Authenticate": challenge})
        if "openid" not in record.scope:
            return oauth_json({"error": "insufficient_scope", "error_description": "The access token was not "
                               "granted the 'openid' scope."}, 403,
                              {"WWW-Authenticate": 'Bearer error="insufficient_scope"'})
        claims = oidc.userinfo(engine, record.client_id, record.subject, engine.open(record.session))
        client = await engine.repo.get_client(record.client_id)
        # The only signing alg a client can register is RS256 (engine/clients.py), as in Hydra.
        if client is not None and client.metadata.get("userinfo_signed_response_alg") == "RS256":
            return Response(await oidc.signed_userinfo(engine, claims), media_type="application/jwt",
                            headers=dict(NO_STORE))
        return oauth_json(claims)

    logout = Logout(engine)

    async def end_session(request: Request) -> Response:
        try:
            params = await _params(request)
            query = urlencode([(k, v) for k, vs in params.items() if k != "logout_verifier" for v in vs])
            outcome = await logout.start(params, dict(request.cookies),
                                         f"{engine.config.public_url}/oauth2/sessions/logout?{query}")
        except OAuthError as exc:
            return error_page(engine, exc)
        return _send(engine, outcome)

    async def fallback_error(request: Request) -> Response:
        q = request.query_params
        desc = q.get("error_description", "")
        return _page("An error occurred", f"<p><code>{html.escape(q.get('error', ''))}</code></p>"
                     f"<p>{html.escape(desc)}</p>", status=500)

    def fallback(title: str, text: str) -> Callable[[Request], Awaitable[Response]]:
        async def page(request: Request) -> Response:
            return _page(title, f"<p>{html.escape(text)}</p>")
        return page

    return [
        Route("/oauth2/auth", auth, methods=["GET", "POST"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/oauth2/sessions/logout", end_session, methods=["GET", "POST"]),
        Route("/oauth2/fallbacks/error", fallback_error, methods=["GET"]),
        Route("/oauth2/fallbacks/login", fallback(
            "Login", "The login provider is not configured: set URLS_LOGIN to your login app."), methods=["GET"]),
        Route("/oauth2/fallbacks/consent", fallback(
            "Consent", "The consent provider is not configured: set URLS_CONSENT to your consent app."),
            methods=["GET"]),
        Route("/oauth2/fallbacks/logout", fallback(
            "Logout", "The logout provider is not configured: set URLS_LOGOUT to your logout app."), methods=["GET"]),
        Route("/oauth2/fallbacks/logout/callback", fallback(
            "Logged out", "You have been logged out. Your log out request however succeeded."), methods=["GET"]),
    ]
