"""Admin routes for JSON Web Key sets (/admin/keys), as Hydra's."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.crypto import keys as jwk
from hydralite.engine.core import Engine
from hydralite.engine.keys import alg_fits
from hydralite.errors import ResourceNotFound, UnsupportedKeyAlgorithm, bad_request, not_found
from hydralite.web.common import api_json, read_json

_SET_NAME_LIMIT = 255
_CREATE_FIELDS = ("alg", "use", "kid")


def _undecodable(detail: str) -> Exception:
    return bad_request(f"Unable to decode the request body: {detail}")


def _go_kind(value: Any) -> str:
    return {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(type(value), "value")


def _names(request: Request) -> tuple[str, str | None]:
    set_id, kid = request.path_params["set"], request.path_params.get("kid")
    if len(set_id) > _SET_NAME_LIMIT or (kid is not None and len(kid) > _SET_NAME_LIMIT) or "\x00" in set_id:
        raise bad_request("The key set name or key id is too long.")
    return set_id, kid


def _checked_key(value: Any) -> dict[str, Any]:
    if not jwk.valid(value) or not isinstance(value.get("kid"), str) or not value["kid"]:
        raise _undecodable("every JSON Web Key needs a valid kty and a kid.")
    for field in ("alg", "use"):
        if value.get(field) is not None and not isinstance(value[field], str):
            raise _undecodable(f"json: cannot unmarshal {_go_kind(value[field])} into Go struct field "
                               f"rawJSONWebKey.{field} of type string")
    if not alg_fits(value):
        raise UnsupportedKeyAlgorithm()
    return value


def routes(engine: Engine) -> list[Route]:
    manager = engine.keys

    async def get_set(request: Request) -> Response:
        set_id, _ = _names(request)
        keys = await manager.get_set(set_id)
        if not keys:
            raise ResourceNotFound()  # Hydra's x.ErrNotFound for an empty set
        return api_json({"keys": keys})

    async def create(request: Request) -> Response:
        set_id, _ = _names(request)
        body = await read_json(request)
        if body is None:
            body = {}  # JSON null decodes into Go's zero value
        if not isinstance(body, dict):
            raise _undecodable(f"json: cannot unmarshal {_go_kind(body)} into Go value of type "
                               "jwk.createJsonWebKeySetBody")
        for field in _CREATE_FIELDS:
            if body.get(field) is not None and not isinstance(body[field], str):
                raise _undecodable(f"json: cannot unmarshal {_go_kind(body[field])} into Go struct field "
                                   f"createJsonWebKeySetBody.{field} of type string")
        alg, use, kid = body.get("alg") or "", body.get("use") or "sig", body.get("kid") or None
        if alg not in jwk.ALGORITHMS:
            raise UnsupportedKeyAlgorithm()
        if use not in ("sig", "enc"):  # Hydra stores any `use`; a key is only ever used to sign or encrypt
            raise bad_request("Field 'use' must be 'sig' or 'enc'.")
        key = await manager.create_key(set_id, alg, use, kid)
        return api_json({"keys": [key]}, 201, {"Location": f"{engine.config.issuer.rstrip('/')}/keys/{set_id}"})

    async def put_set(request: Request) -> Response:
        set_id, _ = _names(request)
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise _undecodable("expected a JSON Web Key Set")
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
            raise not_found()  # Hydra: the SQL no-rows error, unlike a missing set
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
