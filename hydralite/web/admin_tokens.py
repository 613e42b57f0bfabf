"""Admin routes for tokens: introspection (RFC 7662) and deleting a client's access tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine import introspection, revocation
from hydralite.engine.client_registry import storable
from hydralite.engine.core import Engine
from hydralite.errors import InvalidRequest
from hydralite.web.common import oauth_json, read_form


def routes(engine: Engine) -> list[Route]:
    async def introspect(request: Request) -> Response:
        form = await read_form(request)
        return oauth_json(await introspection.introspect(engine, form))

    async def delete_tokens(request: Request) -> Response:
        client_id = request.query_params.get("client_id", "")
        if not client_id:
            raise InvalidRequest("Query parameter 'client_id' is not defined but it should have been.")
        if storable(client_id):  # otherwise no client has that id: nothing to delete
            await revocation.delete_client_tokens(engine, client_id)
        return Response(status_code=204)

    return [
        Route("/admin/oauth2/introspect", introspect, methods=["POST"]),
        Route("/admin/oauth2/tokens", delete_tokens, methods=["DELETE"]),
    ]
