"""Admin routes for /admin/trust/grants/jwt-bearer/issuers (Hydra's oauth2/trust handler)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.core import Engine
from hydralite.engine.trust import PATH, TrustAdmin, undecodable
from hydralite.errors import APIError
from hydralite.web.common import api_json, read_json


def _link_header(request: Request, size: int, next_token: str | None) -> str:
    """keysetpagination's Link header: `first`, and `next` unless this is the last page."""
    base = str(request.url.replace(query=""))
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page_size", "page_token")]
    links = [f'<{base}?{urlencode([*keep, ("page_size", size)])}>; rel="first"']
    if next_token is not None:
        links.append(f'<{base}?{urlencode([*keep, ("page_size", size), ("page_token", next_token)])}>; rel="next"')
    return ",".join(links)


def routes(engine: Engine) -> list[Route]:
    admin = TrustAdmin(engine)

    async def create(request: Request) -> Response:
        try:
            raw = await read_json(request)
        except APIError as exc:
            if exc.status_code != 400:
                raise  # content type and size: hydralite's own refusals
            # handler.go decodes with encoding/json and writes the Go error as {"error": "error", …}
            detail = exc.description.removeprefix("Unable to decode the request body: ")
            raise undecodable(detail if detail == "EOF" else f"invalid character in JSON body: {detail}") from exc
        body = await admin.create(raw)
        # herodot's WriteCreated with Hydra's path as written in handler.go (no /admin prefix)
        return api_json(body, 201, {"Location": f"{PATH}/{body['id']}"})

    async def list_trusts(request: Request) -> Response:
        q = request.query_params
        items, next_token, size = await admin.list(q.get("page_size"), q.get("page_token"), q.get("issuer"))
        return api_json(items, headers={"Link": _link_header(request, size, next_token)})

    async def get(request: Request) -> Response:
        return api_json(await admin.get(request.path_params["id"]))

    async def delete(request: Request) -> Response:
        await admin.delete(request.path_params["id"])
        return Response(status_code=204)

    return [
        Route(f"/admin{PATH}", create, methods=["POST"]),
        Route(f"/admin{PATH}", list_trusts, methods=["GET"]),
        Route(f"/admin{PATH}/{{id:str}}", get, methods=["GET"]),
        Route(f"/admin{PATH}/{{id:str}}", delete, methods=["DELETE"]),
    ]
