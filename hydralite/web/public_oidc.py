"""OpenID Connect discovery (and RFC 8414 metadata) and the public key set."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine import oidc
from hydralite.engine.core import Engine
from hydralite.web.common import api_json


def routes(engine: Engine) -> list[Route]:
    async def configuration(request: Request) -> Response:
        return api_json(await oidc.discovery(engine))

    async def jwks(request: Request) -> Response:
        return api_json(await engine.keys.public_jwks())

    return [
        Route("/.well-known/openid-configuration", configuration, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", configuration, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]
