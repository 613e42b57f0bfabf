"""OIDC discovery, RFC 8414 metadata and /.well-known/jwks.json over a real server."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import ory_hydra_client as hydra
from joserfc import jwt
from joserfc.jwk import KeySet

from hydralite.engine.keys import ACCESS_TOKEN_SET, ID_TOKEN_SET
from tests.conftest import run_server

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


# Every field of Hydra v25's document (oauth2/handler.go oidcConfiguration) but the two OpenID4VCI draft-00
# fields (no /credentials endpoint here), in Hydra's order, plus RFC 9207's iss flag.
HYDRA_FIELDS = [
    "issuer", "authorization_endpoint", "device_authorization_endpoint", "token_endpoint", "jwks_uri",
    "subject_types_supported", "response_types_supported", "claims_supported", "grant_types_supported",
    "response_modes_supported", "userinfo_endpoint", "scopes_supported", "token_endpoint_auth_methods_supported",
    "userinfo_signing_alg_values_supported", "id_token_signing_alg_values_supported", "id_token_signed_response_alg",
    "userinfo_signed_response_alg", "request_parameter_supported", "request_uri_parameter_supported",
    "require_request_uri_registration", "claims_parameter_supported", "revocation_endpoint",
    "backchannel_logout_supported", "backchannel_logout_session_supported", "frontchannel_logout_supported",
    "frontchannel_logout_session_supported", "end_session_endpoint", "request_object_signing_alg_values_supported",
    "code_challenge_methods_supported", "authorization_response_iss_parameter_supported",
]


async def test_discovery_document(public, server):
    r = await public.get("/.well-known/openid-configuration")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert list(doc) == HYDRA_FIELDS
    base = server.public_url
    assert doc["issuer"] == f"{base}/"  # verbatim from URLS_SELF_ISSUER, trailing slash included
    assert doc["authorization_endpoint"] == f"{base}/oauth2/auth"
    assert doc["device_authorization_endpoint"] == f"{base}/oauth2/device/auth"
    assert doc["token_endpoint"] == f"{base}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{base}/userinfo"
    assert doc["revocation_endpoint"] == f"{base}/oauth2/revoke"
    assert doc["end_session_endpoint"] == f"{base}/oauth2/sessions/logout"
    assert doc["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert doc["response_types_supported"] == ["code", "code id_token", "id_token", "token id_token", "token",
                                               "token id_token code"]
    assert doc["grant_types_supported"] == ["authorization_code", "implicit", "client_credentials", "refresh_token",
                                            "urn:ietf:params:oauth:grant-type:device_code",
                                            "urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_post", "client_secret_basic", "private_key_jwt", "none"]
    assert "token_endpoint_auth_signing_alg_values_supported" not in doc  # Hydra does not list it
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"] == doc["id_token_signed_response_alg"]
    assert doc["userinfo_signing_alg_values_supported"] == ["none", "RS256"]
    assert doc["userinfo_signed_response_alg"] == ["RS256"]
    assert doc["request_object_signing_alg_values_supported"] == ["none", "RS256", "ES256"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["scopes_supported"] == ["offline_access", "offline", "openid"] and doc["claims_supported"] == ["sub"]
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["request_parameter_supported"] is True and doc["request_uri_parameter_supported"] is True
    assert doc["require_request_uri_registration"] is True and doc["claims_parameter_supported"] is False
    assert doc["frontchannel_logout_supported"] is True and doc["backchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert "registration_endpoint" not in doc and "introspection_endpoint" not in doc
    assert (await public.get("/.well-known/oauth-authorization-server")).json() == doc
    for url in (doc["token_endpoint"], doc["revocation_endpoint"]):  # the endpoints it names are served
        assert (await public.post(url.removeprefix(base))).status_code != 404


async def test_discovery_through_the_hydra_sdk(server):
    """OidcApi.discover_oidc_configuration validates every required field and every type of Hydra's model."""
    config = hydra.Configuration(host=server.public_url)
    with hydra.ApiClient(config) as api_client:
        doc = await asyncio.to_thread(hydra.OidcApi(api_client).discover_oidc_configuration)
    assert doc.device_authorization_endpoint == f"{server.public_url}/oauth2/device/auth"
    assert doc.issuer == f"{server.public_url}/" and doc.id_token_signed_response_alg == ["RS256"]
    assert doc.request_object_signing_alg_values_supported == ["none", "RS256", "ES256"]


async def test_discovery_is_not_on_the_admin_port(admin):
    assert (await admin.get("/.well-known/openid-configuration")).status_code == 404


async def test_jwks_is_public_only_and_verifies_id_token_set_signatures(public, admin, server):
    r = await public.get("/.well-known/jwks.json")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys and all(not PRIVATE_MEMBERS & set(k) for k in keys)
    assert all({"kid", "kty", "alg", "use"} <= set(k) for k in keys)
    # Every published key belongs to the id-token or access-token set, and the id-token signing key is there.
    private = (await admin.get(f"/admin/keys/{ID_TOKEN_SET}")).json()["keys"]
    access = await admin.get(f"/admin/keys/{ACCESS_TOKEN_SET}")
    published = {k["kid"] for k in private} | {k["kid"] for k in (access.json()["keys"] if access.is_success else [])}
    assert {k["kid"] for k in keys} == published
    signer = private[0]
    assert signer["alg"] == "RS256" and signer["kty"] == "RSA" and "d" in signer
    token = jwt.encode({"alg": "RS256", "kid": signer["kid"]}, {"sub": "x"}, KeySet.import_key_set({"keys": [signer]}))
    assert jwt.decode(token, KeySet.import_key_set({"keys": keys})).claims == {"sub": "x"}


async def test_new_id_token_key_is_published(public, admin):
    made = await admin.post(f"/admin/keys/{ID_TOKEN_SET}", json={"alg": "ES256", "use": "sig", "kid": "disc-es"})
    try:
        assert made.status_code == 201
        # Published at once by the admin process (the public side may cache for a few seconds).
        keys = (await public.get("/.well-known/jwks.json")).json()["keys"]
        deadline = asyncio.get_running_loop().time() + 15
        while not any(k["kid"] == "disc-es" for k in keys) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            keys = (await public.get("/.well-known/jwks.json")).json()["keys"]
        (pub,) = [k for k in keys if k["kid"] == "disc-es"]
        assert "d" not in pub and pub["x"] == made.json()["keys"][0]["x"]
    finally:
        await admin.delete(f"/admin/keys/{ID_TOKEN_SET}/disc-es")


async def test_first_use_creates_exactly_one_key_across_workers(fresh_dsn):
    """Two worker processes race to create the id-token key on an empty database; only one key may win."""
    with run_server(fresh_dsn, "--workers", "2") as srv:
        async with httpx.AsyncClient(base_url=srv.public_url, timeout=30) as client:
            replies = await asyncio.gather(*(client.get("/.well-known/jwks.json") for _ in range(24)))
    assert all(r.status_code == 200 for r in replies)
    kid_sets = {frozenset(k["kid"] for k in r.json()["keys"]) for r in replies}
    assert len(kid_sets) == 1
    conn = await asyncpg.connect(fresh_dsn)
    try:
        rows = await conn.fetch("SELECT kid, keydata FROM hydralite_jwk WHERE set_id = $1", ID_TOKEN_SET)
    finally:
        await conn.close()
    assert len(rows) == 1 and {rows[0]["kid"]} <= next(iter(kid_sets))
    assert not rows[0]["keydata"].startswith("{")  # sealed
