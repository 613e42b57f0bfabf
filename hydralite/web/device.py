"""Public routes of the device flow (RFC 8628): the device authorization endpoint and the browser's verify route."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine import device
from hydralite.engine.core import Engine
from hydralite.errors import OAuthError
from hydralite.web.authorize import _page, _send, error_page  # the browser-flow responses, shared
from hydralite.web.common import oauth_json, read_form


def routes(engine: Engine) -> list[Route]:
    async def device_auth(request: Request) -> Response:
        form = await read_form(request)
        return oauth_json(await device.authorize_device(engine, form, request.headers.get("authorization")))

    async def verify(request: Request) -> Response:
        params: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            params.setdefault(name, []).append(value)
        try:
            outcome = await device.verify(engine, params, dict(request.cookies),
                                          request.client.host if request.client else "")
        except OAuthError as exc:
            return error_page(engine, exc)
        return _send(engine, outcome)

    async def fallback_device(request: Request) -> Response:
        return _page("Device", "<p>The device verification page is not configured: set URLS_DEVICE_VERIFICATION "
                     "to your app.</p>")

    async def fallback_done(request: Request) -> Response:
        return _page("You successfully authenticated on your device!",
                     "<p>The Default Post Device URL is not set which is why you are seeing this fallback page. "
                     "Your device login request however succeeded.</p>")

    return [
        Route("/oauth2/device/auth", device_auth, methods=["POST"]),
        Route(device.VERIFY_PATH, verify, methods=["GET"]),
        Route("/oauth2/fallbacks/device", fallback_device, methods=["GET"]),
        Route("/oauth2/fallbacks/device/done", fallback_done, methods=["GET"]),
    ]
