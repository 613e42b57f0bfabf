"""The /admin/keys API over a real server: Hydra's status codes and shapes, the Hydra SDK, sealing at rest."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import ory_hydra_client as hydra
import pytest
from ory_hydra_client.models import CreateJsonWebKeySet, JsonWebKey

# Hydra's openapi.json, components.schemas.jsonWebKey: required members and every member it defines.
JWK_REQUIRED = {"use", "kty", "kid", "alg"}
JWK_MEMBERS = {"alg", "crv", "d", "dp", "dq", "e", "k", "kid", "kty", "n", "p", "q", "qi", "use", "x", "x5c", "y"}


def set_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def assert_jwks_shape(body: dict) -> None:
    """jsonWebKeySet / jsonWebKey of Hydra's openapi.json: required members present, no unknown ones."""
    assert set(body) == {"keys"} and isinstance(body["keys"], list)
    for key in body["keys"]:
        assert set(key) >= JWK_REQUIRED, key
        assert set(key) <= JWK_MEMBERS, set(key) - JWK_MEMBERS
        assert all(isinstance(v, str) for k, v in key.items() if k != "x5c")


async def stored_keydata(dsn: str, set_id: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["keydata"] for r in await conn.fetch("SELECT keydata FROM hydralite_jwk WHERE set_id=$1", set_id)]
    finally:
        await conn.close()


@pytest.mark.parametrize(("alg", "kty"), [("RS256", "RSA"), ("PS512", "RSA"), ("ES512", "EC"), ("EdDSA", "OKP")])
async def test_create_adds_a_key_with_location(admin, server, alg, kty):
    name = set_name()
    created = await admin.post(f"/admin/keys/{name}", json={"alg": alg, "use": "sig", "kid": f"{alg}-1"})
    assert created.status_code == 201
    assert created.headers["location"] == f"{server.public_url}/keys/{name}"
    assert_jwks_shape(created.json())
    (key,) = created.json()["keys"]
    assert key["kty"] == kty and key["alg"] == alg and key["kid"] == f"{alg}-1" and "d" in key
    again = await admin.post(f"/admin/keys/{name}", json={"alg": "ES256", "use": "enc"})
    assert again.status_code == 201
    second = again.json()["keys"][0]
    assert uuid.UUID(second["kid"]).version == 4 and second["use"] == "enc"
    listed = (await admin.get(f"/admin/keys/{name}")).json()
    assert_jwks_shape(listed)
    assert {k["kid"] for k in listed["keys"]} == {f"{alg}-1", second["kid"]}  # POST adds, it does not replace


async def test_unsupported_algorithm_and_bad_bodies(admin):
    name = set_name()
    for alg in ("HS256", "none", "RS1", None):
        r = await admin.post(f"/admin/keys/{name}", json={"alg": alg, "use": "sig"})
        assert r.status_code == 400
        assert r.json() == {"error": "Bad Request", "error_description": "Unsupported key algorithm"}
    # A non-string alg fails Go's decoding of the body first: herodot's bad request (jwk/handler.go).
    r = await admin.post(f"/admin/keys/{name}", json={"alg": 5, "use": "sig"})
    assert r.status_code == 400 and r.json()["error"] == "The request was malformed or contained invalid parameters"
    assert (await admin.post(f"/admin/keys/{name}", json={"alg": "ES256", "use": "sign"})).status_code == 400
    assert (await admin.post(f"/admin/keys/{name}", content=b"{not json")).status_code == 400
    assert (await admin.post(f"/admin/keys/{name}", json=[1])).status_code == 400
    assert (await admin.put(f"/admin/keys/{name}", json={"keys": "x"})).status_code == 400
    assert (await admin.put(f"/admin/keys/{name}", json={"keys": [{"kty": "nope", "kid": "a"}]})).status_code == 400
    assert (await admin.put(f"/admin/keys/{name}/a", json={"kty": "EC"})).status_code == 400
    assert (await admin.get(f"/admin/keys/{name}")).status_code == 404  # nothing was stored


async def test_missing_set_and_key_are_404(admin):
    name = set_name()
    missing = await admin.get(f"/admin/keys/{name}")
    assert missing.status_code == 404 and missing.json()["error"]
    await admin.post(f"/admin/keys/{name}", json={"alg": "ES256", "use": "sig", "kid": "k"})
    assert (await admin.get(f"/admin/keys/{name}/nope")).status_code == 404
    assert (await admin.delete(f"/admin/keys/{name}/nope")).status_code == 204  # as Hydra: delete is idempotent
    assert (await admin.delete(f"/admin/keys/{set_name()}")).status_code == 204


async def test_put_set_replaces_and_put_key_upserts(admin):
    name, other = set_name(), set_name()
    a = (await admin.post(f"/admin/keys/{other}", json={"alg": "ES256", "use": "sig", "kid": "a"})).json()["keys"][0]
    b = (await admin.post(f"/admin/keys/{other}", json={"alg": "EdDSA", "use": "sig", "kid": "b"})).json()["keys"][0]
    await admin.post(f"/admin/keys/{name}", json={"alg": "ES256", "use": "sig", "kid": "old"})
    put = await admin.put(f"/admin/keys/{name}", json={"keys": [a, b]})
    assert put.status_code == 200 and put.json() == {"keys": [a, b]}
    assert {k["kid"] for k in (await admin.get(f"/admin/keys/{name}")).json()["keys"]} == {"a", "b"}
    # The body's kid is what counts, not the path's.
    changed = {**a, "use": "enc", "kid": "c"}
    upsert = await admin.put(f"/admin/keys/{name}/whatever", json=changed)
    assert upsert.status_code == 200 and upsert.json() == changed
    assert (await admin.get(f"/admin/keys/{name}/c")).json() == {"keys": [changed]}
    assert (await admin.get(f"/admin/keys/{name}/whatever")).status_code == 404
    assert (await admin.delete(f"/admin/keys/{name}/a")).status_code == 204
    assert {k["kid"] for k in (await admin.get(f"/admin/keys/{name}")).json()["keys"]} == {"b", "c"}
    assert (await admin.delete(f"/admin/keys/{name}")).status_code == 204
    assert (await admin.get(f"/admin/keys/{name}")).status_code == 404


async def test_private_keys_are_sealed_at_rest(admin, server):
    name = set_name()
    key = (await admin.post(f"/admin/keys/{name}", json={"alg": "RS256", "use": "sig"})).json()["keys"][0]
    await admin.put(f"/admin/keys/{name}/x", json={**key, "kid": "imported"})
    rows = await stored_keydata(server.dsn, name)
    assert len(rows) == 2
    for data in rows:
        with pytest.raises(ValueError):
            json.loads(data)
        assert key["d"] not in data and key["n"] not in data and key["kid"] not in data


@pytest.fixture
def jwk_api(server):
    with hydra.ApiClient(hydra.Configuration(host=server.admin_url)) as api_client:
        yield hydra.JwkApi(api_client)


async def test_hydra_sdk_jwk_api(jwk_api, server):
    name = set_name()
    made = await asyncio.to_thread(jwk_api.create_json_web_key_set, name,
                                   CreateJsonWebKeySet(alg="ES256", use="sig", kid="sdk-1"))
    assert made.keys[0].kid == "sdk-1" and made.keys[0].kty == "EC" and made.keys[0].d
    got = await asyncio.to_thread(jwk_api.get_json_web_key_set, name)
    assert [k.kid for k in got.keys] == ["sdk-1"]
    one = await asyncio.to_thread(jwk_api.get_json_web_key, name, "sdk-1")
    assert one.keys[0].x == made.keys[0].x
    body = made.keys[0].to_dict()
    body["use"] = "enc"
    updated = await asyncio.to_thread(jwk_api.set_json_web_key, name, "sdk-1", JsonWebKey.from_dict(body))
    assert updated.use == "enc" and updated.kid == "sdk-1"
    stored = await stored_keydata(server.dsn, name)
    assert len(stored) == 1 and not stored[0].startswith("{") and made.keys[0].d not in stored[0]
    await asyncio.to_thread(jwk_api.delete_json_web_key, name, "sdk-1")
    with pytest.raises(hydra.exceptions.NotFoundException):
        await asyncio.to_thread(jwk_api.get_json_web_key, name, "sdk-1")
    await asyncio.to_thread(jwk_api.create_json_web_key_set, name,
                            CreateJsonWebKeySet(alg="EdDSA", use="sig", kid="sdk-2"))
    await asyncio.to_thread(jwk_api.delete_json_web_key_set, name)
    with pytest.raises(hydra.exceptions.NotFoundException):
        await asyncio.to_thread(jwk_api.get_json_web_key_set, name)
    with pytest.raises(hydra.exceptions.BadRequestException):
        await asyncio.to_thread(jwk_api.create_json_web_key_set, name,
                                CreateJsonWebKeySet(alg="HS256", use="sig", kid="x"))
