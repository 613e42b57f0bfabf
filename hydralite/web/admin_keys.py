"""Admin routes for JSON Web Key sets (/admin/keys), as Hydra's."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.crypto import keys as jwk
from hydralite.engine.core import Engine
from hydralite.errors import APIError, bad_request
from hydralite.web.common import api_json, read_json

_SET_NAME_LIMIT = 255


def _not_found(what: str) -> APIError:
    return APIError(404, "The requested resource could not be found", f"Unable to find {what}.")


def _names(request: Request) -> tuple[str, str | None]:
    set_id, kid = request.path_params["set"], request.path_params.get("kid")
    if len(set_id) > _SET_NAME_LIMIT or (kid is not None and len(kid) > _SET_NAME_LIMIT) or "\x00" in set_id:
        raise bad_request("The key set name or key id is too long.")
    return set_id, kid


def _checked_key(value: Any) -> dict[str, Any]:
    if not jwk.valid(value) or not isinstance(value.get("kid"), str) or not value["kid"]:
        raise bad_request("Unable to decode the request body: every JSON Web Key needs a valid kty and a kid.")
    return value


def routes(engine: Engine) -> list[Route]:
    manager = engine.keys

    async def get_set(request: Request) -> Response:
        set_id, _ = _names(request)
        keys = await manager.get_set(set_id)
        if not keys:
            raise _not_found(f"JSON Web Key Set {set_id}")
        return api_json({"keys": keys})

    async def create(request: Request) -> Response:
        set_id, _ = _names(request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise bad_request("Unable to decode the request body: expected a JSON object")
        alg, use, kid = body.get("alg"), body.get("use") or "sig", body.get("kid") or None
        if alg not in jwk.ALGORITHMS or use not in ("sig", "enc") or (kid is not None and not isinstance(kid, str)):
            raise APIError(400, "Bad Request", "Unsupported key algorithm" if alg not in jwk.ALGORITHMS
                           else "Field 'use' must be 'sig' or 'enc' and 'kid' a string.")
        key = await manager.create_key(set_id, alg, use, kid)
        return api_json({"keys": [key]}, 201, {"Location": f"{engine.config.issuer.rstrip('/')}/keys/{set_id}"})

    async def put_set(request: Request) -> Response:
        set_id, _ = _names(request)
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise bad_request("Unable to decode the request body: expected a JSON Web Key Set")
        keys = [_checked_key(k) for k in body["keys"]]
        await manager.put_set(set_id, keys)
        return api_json({"keys": keys})

    async def delete_set(request: Request) -> Response:
        set_id, _ = _names(request)
        await manager.delete_set(set_id)
        return Response(status_code=204)

    async def get_key(request: Request) -> Response:
        set_id, kid = _names(request)
        found = [k for k in await manager.get_set(set_id) if k.get("kid") == kid]
        if not found:
            raise _not_found(f"JSON Web Key {kid} in set {set_id}")
        return api_json({"keys": found})

    async def put_key(request: Request) -> Response:
        set_id, _ = _names(request)
        key = _checked_key(await read_json(request))  # the body's kid is the one that counts, as in Hydra
        await manager.put_key(set_id, key)
        return api_json(key)

    async def delete_key(request: Request) -> Response:
        set_id, kid = _names(request)
        await manager.delete_key(set_id, kid or "")  # Hydra answers 204 even when there was no such key
        return Response(status_code=204)

    return [
        Route("/admin/keys/{set:str}", get_set, methods=["GET"]),
        Route("/admin/keys/{set:str}", create, methods=["POST"]),
        Route("/admin/keys/{set:str}", put_set, methods=["PUT"]),
        Route("/admin/keys/{set:str}", delete_set, methods=["DELETE"]),
        Route("/admin/keys/{set:str}/{kid:str}", get_key, methods=["GET"]),
        Route("/admin/keys/{set:str}/{kid:str}", put_key, methods=["PUT"]),
        Route("/admin/keys/{set:str}/{kid:str}", delete_key, methods=["DELETE"]),
    ]
