"""Admin routes for /admin/clients (Hydra's clients API)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine import clients
from hydralite.engine.client_registry import ClientRegistry
from hydralite.errors import APIError
from hydralite.web.common import api_json, read_json


def _link_header(request: Request, size: int, next_token: str | None) -> str:
    base = str(request.url.replace(query=""))
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page_size", "page_token")]
    first = f'<{base}?{urlencode([*keep, ("page_size", size)])}>; rel="first"'
    if next_token is None:
        return first
    nxt = f'<{base}?{urlencode([*keep, ("page_size", size), ("page_token", next_token)])}>; rel="next"'
    return f"{first},{nxt}"


def routes(registry: ClientRegistry) -> list[Route]:
    async def create(request: Request) -> Response:
        body = await registry.create(await read_json(request))
        return api_json(body, 201, {"Location": f"/admin/clients/{body['client_id']}"})

    async def list_clients(request: Request) -> Response:
        q = request.query_params
        items, next_token, size = await registry.list(q.get("page_size"), q.get("page_token"),
                                                      q.get("client_name"), q.get("owner"))
        return api_json(items, headers={"Link": _link_header(request, size, next_token)})

    async def get(request: Request) -> Response:
        return api_json(await registry.get_rendered(request.path_params["id"]))

    async def found_first(request: Request, body: Awaitable[Any]) -> Any:
        """Hydra looks the client up before it decodes a PATCH or lifespans body: a missing client is a 404
        whatever the body; only then does a bad body count."""
        try:
            return await body
        except APIError as exc:
            if exc.status_code == 400:
                await registry.get(request.path_params["id"])
            raise

    async def put(request: Request) -> Response:
        body = await read_json(request)
        try:
            return api_json(await registry.replace(request.path_params["id"], body))
        except APIError as exc:
            if exc.status_code == 404:  # Hydra validates a PUT body before it looks the client up
                clients.validate(clients.decode(body), registry.engine.config)
            raise

    async def patch(request: Request) -> Response:
        body = await found_first(request, read_json(request))
        return api_json(await registry.patch(request.path_params["id"], body))

    async def delete(request: Request) -> Response:
        await registry.delete(request.path_params["id"])
        return Response(status_code=204)

    async def lifespans(request: Request) -> Response:
        body = await found_first(request, read_json(request))
        return api_json(await found_first(request, registry.set_lifespans(request.path_params["id"], body)))

    return [
        Route("/admin/clients", create, methods=["POST"]),
        Route("/admin/clients", list_clients, methods=["GET"]),
        Route("/admin/clients/{id:str}", get, methods=["GET"]),
        Route("/admin/clients/{id:str}", put, methods=["PUT"]),
        Route("/admin/clients/{id:str}", patch, methods=["PATCH"]),
        Route("/admin/clients/{id:str}", delete, methods=["DELETE"]),
        Route("/admin/clients/{id:str}/lifespans", lifespans, methods=["PUT"]),
    ]
