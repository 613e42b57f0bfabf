"""Public routes for OpenID Connect Dynamic Client Registration: /oauth2/register[/{id}] (Hydra's oidc API)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.client_registry import ClientRegistry
from hydralite.engine.core import Engine
from hydralite.engine.dynamic_clients import DynamicClients, bearer_token
from hydralite.errors import APIError, bad_request
from hydralite.models import Client
from hydralite.web.common import api_json, read_json

_DECODE = "Unable to decode the request body"


def routes(engine: Engine) -> list[Route]:
    dynamic = DynamicClients(ClientRegistry(engine))

    async def authenticated(request: Request) -> tuple[Client, str]:
        """Hydra's order: the switch, then the token (before any body is read)."""
        dynamic.require_enabled()
        token = bearer_token(request.headers.get("authorization"), request.query_params.get("access_token"))
        return await dynamic.authenticate(request.path_params["id"], token)

    async def register(request: Request) -> Response:
        dynamic.require_enabled()
        body = await dynamic.register(await read_json(request))
        # Hydra's Location is relative and without a leading slash (urlx.MustJoin("admin", …)).
        return api_json(body, 201, {"Location": f"admin/clients/{body['client_id']}"})

    async def get(request: Request) -> Response:
        client, _ = await authenticated(request)
        return api_json(dynamic.read(client))

    async def put(request: Request) -> Response:
        client, stored = await authenticated(request)
        body = await _put_body(request)
        try:
            return api_json(await dynamic.replace(client, stored, body))
        except APIError as exc:
            raise _put_decode_error(exc) from exc

    async def delete(request: Request) -> Response:
        client, stored = await authenticated(request)
        await dynamic.delete(client, stored)
        return Response(status_code=204)

    return [
        Route("/oauth2/register", register, methods=["POST"]),
        Route("/oauth2/register/{id:str}", get, methods=["GET"]),
        Route("/oauth2/register/{id:str}", put, methods=["PUT"]),
        Route("/oauth2/register/{id:str}", delete, methods=["DELETE"]),
    ]


async def _put_body(request: Request) -> Any:
    try:
        return await read_json(request)
    except APIError as exc:
        raise _put_decode_error(exc) from exc


def _put_decode_error(exc: APIError) -> APIError:
    """Hydra's dynamic PUT words every body its JSON decoder refuses alike (the detail goes to `debug` only)."""
    if exc.status_code == 400 and exc.description.startswith(_DECODE):
        return bad_request(f"{_DECODE}. Is it valid JSON?")
    return exc
