"""The public app (port 4444): the OAuth 2.0 endpoints clients call."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hydralite.engine import revocation, token
from hydralite.engine.core import Engine
from hydralite.ops import metrics
from hydralite.web import authorize, dynamic_clients, health, public_oidc
from hydralite.web import device as device_routes
from hydralite.web.common import NO_STORE, PathNormalizer, install_error_handlers, oauth_json, read_form


def create_app(engine: Engine, ping: health.Ping) -> ASGIApp:
    async def token_endpoint(request: Request) -> Response:
        form = await read_form(request)
        result = await token.exchange(engine, form, request.headers.get("authorization"))
        metrics.token_issued(form["grant_type"][0].strip(" "))  # a grant the engine knows, or it raised
        return oauth_json(result.to_dict())

    async def revoke_endpoint(request: Request) -> Response:
        form = await read_form(request)
        await revocation.revoke(engine, form, request.headers.get("authorization"))
        return Response(b"", status_code=200, headers=NO_STORE)

    routes = [
        Route("/oauth2/token", token_endpoint, methods=["POST"]),
        Route("/oauth2/revoke", revoke_endpoint, methods=["POST"]),
        *health.routes(ping, obfuscate=True),
        *authorize.routes(engine),
        *public_oidc.routes(engine),
        *device_routes.routes(engine),
        *dynamic_clients.routes(engine),
    ]
    app = Starlette(routes=routes)
    install_error_handlers(app, expose_debug=engine.config.expose_internal_errors, oauth=True)
    return PathNormalizer(app, admin_prefix=False)
