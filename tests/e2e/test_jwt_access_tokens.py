"""JWT access tokens (strategies.access_token=jwt, a client's access_token_strategy) and key rotation, over real
sockets: an API that knows only the JWKS URL verifies them offline with joserfc, and introspection agrees with it
before and after revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet

from tests.conftest import Server, basic, run_server
from tests.e2e.browser import Browser, pkce_pair, query

REDIRECT = "http://127.0.0.1:5555/callback"
AT_SET = "hydra.jwt.access-token"
ID_SET = "hydra.openid.id-token"
ALGS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"]


@pytest.fixture(scope="module")
async def jwt_server(postgres, template_db) -> AsyncIterator[Server]:
    """A server whose default strategy is jwt; `team` from session.access_token is also a top-level claim."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, STRATEGIES_ACCESS_TOKEN="jwt", OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS='["team", "sub"]') as srv:
        yield srv


@pytest.fixture
async def jadmin(jwt_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=jwt_server.admin_url, timeout=30) as client:
        yield client


@pytest.fixture
async def jpublic(jwt_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=jwt_server.public_url, timeout=30) as client:
        yield client


async def new_client(admin: httpx.AsyncClient, **fields: Any) -> dict:
    fields.setdefault("client_secret", "a-good-secret-0123456789")
    fields.setdefault("grant_types", ["client_credentials"])
    fields.setdefault("scope", "api read write")
    r = await admin.post("/admin/clients", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


async def issue(public: httpx.AsyncClient, client: dict, **form: str) -> str:
    r = await public.post("/oauth2/token", headers=basic(client["client_id"], client["client_secret"]),
                          data={"grant_type": "client_credentials", **form})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def introspect(admin: httpx.AsyncClient, token: str) -> dict:
    r = await admin.post("/admin/oauth2/introspect", data={"token": token})
    assert r.status_code == 200, r.text
    return r.json()


async def verify_offline(public_url: str, token: str) -> dict:
    """What a resource server does with nothing but the JWKS URL: fetch the keys, check signature, iss, exp."""
    async with httpx.AsyncClient(timeout=30) as http:
        jwks = (await http.get(f"{public_url}/.well-known/jwks.json")).json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=ALGS)
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": public_url + "/"}, exp={"essential": True},
                          jti={"essential": True}).validate(decoded.claims)
    return {"header": decoded.header, **decoded.claims}


def segments(token: str) -> list[dict]:
    return [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in token.split(".")[:2]]


def forge(token: str, **changes: Any) -> str:
    """The token with its payload changed and its signature kept."""
    head, _, sig = token.split(".")
    payload = {**segments(token)[1], **changes}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


async def test_client_credentials_jwt_verifies_offline_and_introspection_agrees(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin, audience=["https://api.example.com"])
    token = await issue(jpublic, client, scope="api read", audience="https://api.example.com")
    assert not token.startswith("ory_at_") and token.count(".") == 2
    claims = await verify_offline(jwt_server.public_url, token)
    header = claims.pop("header")
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    keys = (await jadmin.get(f"/admin/keys/{AT_SET}")).json()["keys"]
    assert header["kid"] == keys[0]["kid"]
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scp", "ext"}
    assert claims["sub"] == claims["client_id"] == client["client_id"]
    assert claims["aud"] == ["https://api.example.com"] and claims["scp"] == ["api", "read"]
    assert claims["ext"] == {} and claims["nbf"] == claims["iat"] and claims["exp"] - claims["iat"] == 3600

    info = await introspect(jadmin, token)
    assert info["active"] is True and info["token_use"] == "access_token" and info["scope"] == "api read"
    for name in ("sub", "client_id", "exp", "iat", "nbf", "aud", "iss"):
        assert info[name] == claims[name], name

    # Revocation: introspection says inactive at once, while the signature of course still verifies offline.
    r = await jpublic.post("/oauth2/revoke", data={"token": token},
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    assert await introspect(jadmin, token) == {"active": False}
    assert (await verify_offline(jwt_server.public_url, token))["jti"] == claims["jti"]


async def test_empty_scope_and_audience_are_empty_lists(jwt_server, jadmin, jpublic):
    token = await issue(jpublic, await new_client(jadmin))
    claims = await verify_offline(jwt_server.public_url, token)
    assert claims["scp"] == [] and claims["aud"] == []


async def test_per_client_strategy_opaque_on_a_jwt_server(jadmin, jpublic):
    client = await new_client(jadmin, access_token_strategy="opaque")
    token = await issue(jpublic, client, scope="api")
    assert token.startswith("ory_at_")
    assert (await introspect(jadmin, token))["active"] is True


async def test_per_client_strategy_jwt_on_an_opaque_server(server, make_client, public, admin):
    opaque = await make_client()
    assert (await issue(public, opaque)).startswith("ory_at_")
    client = await make_client(access_token_strategy="jwt")
    assert client["access_token_strategy"] == "jwt"
    token = await issue(public, client, scope="read")
    claims = await verify_offline(server.public_url, token)
    assert claims["client_id"] == client["client_id"] and claims["scp"] == ["read"]
    assert (await introspect(admin, token))["active"] is True
    # DELETE /admin/oauth2/tokens removes JWT access tokens as it removes opaque ones.
    assert (await admin.delete("/admin/oauth2/tokens", params={"client_id": client["client_id"]})).status_code == 204
    assert await introspect(admin, token) == {"active": False}


async def test_tampered_unknown_and_foreign_jwts_are_inactive(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin)
    token = await issue(jpublic, client, scope="api")
    head, body, sig = token.split(".")
    flipped = ("A" if sig[10] != "A" else "B")
    assert await introspect(jadmin, f"{head}.{body}.{sig[:10]}{flipped}{sig[11:]}") == {"active": False}
    assert await introspect(jadmin, forge(token, scp=["api", "write"])) == {"active": False}
    assert await introspect(jadmin, forge(token, sub="someone-else")) == {"active": False}
    # alg none, and a token signed with a key of hydralite's set that was never issued (so never stored).
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    assert await introspect(jadmin, f"{none}.{body}.") == {"active": False}
    private = KeySet.import_key_set((await jadmin.get(f"/admin/keys/{AT_SET}")).json())
    kid = segments(token)[0]["kid"]
    never_issued = {**segments(token)[1], "jti": "never-issued"}  # RS256 is deterministic: change the payload
    unknown = jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, never_issued, private)
    assert (await verify_offline(jwt_server.public_url, unknown))["sub"] == client["client_id"]
    assert await introspect(jadmin, unknown) == {"active": False}
    # A token signed by a stranger's key, naming a kid hydralite does not have.
    stranger = KeySet.generate_key_set("RSA", 2048, parameters={"alg": "RS256", "kid": "stranger"})
    foreign = jwt.encode({"alg": "RS256", "kid": "stranger"}, segments(token)[1], stranger)
    assert await introspect(jadmin, foreign) == {"active": False}
    assert (await introspect(jadmin, token))["active"] is True  # the real one is untouched
    me = await jpublic.get("/userinfo", headers={"Authorization": f"Bearer {forge(token, sub='x')}"})
    assert me.status_code == 401


async def test_expired_jwt_is_inactive(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin)
    r = await jadmin.put(f"/admin/clients/{client['client_id']}/lifespans",
                         json={"client_credentials_grant_access_token_lifespan": "1s"})
    assert r.status_code == 200, r.text
    token = await issue(jpublic, client)
    claims = segments(token)[1]
    assert claims["exp"] - claims["iat"] == 1
    while time.time() < claims["exp"] + 1.5:
        await asyncio.sleep(0.5)
    assert await introspect(jadmin, token) == {"active": False}
    with pytest.raises(ExpiredTokenError):
        await verify_offline(jwt_server.public_url, token)


async def sign_in(browser: Browser, client: dict, scope: str, session: dict) -> tuple[str, str]:
    """The browser part of the code flow, with a consent that puts `session` into the tokens: (code, verifier)."""
    verifier, challenge = pkce_pair()
    first = await browser.start(browser.auth_url(client, REDIRECT, scope, code_challenge=challenge,
                                                 code_challenge_method="S256", nonce="n-0123456789"))
    third = await browser.consent(await browser.login(first), session=session)
    assert third.status_code == 303, third.text
    return query(third.headers["location"])["code"], verifier


async def token_request(public: httpx.AsyncClient, client: dict, **form: str) -> dict:
    r = await public.post("/oauth2/token", data=form, headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    return r.json()


async def test_authorization_code_refresh_userinfo_and_reuse_detection(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin, grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                              redirect_uris=[REDIRECT], scope="openid offline_access api")
    browser = Browser(jwt_server.public_url, jadmin)
    try:
        code, verifier = await sign_in(browser, client, "openid offline_access api",
                                       {"access_token": {"team": "blue", "sub": "not-the-subject", "nested": {"a": 1}},
                                        "id_token": {"name": "Foo"}})
        first = await token_request(jpublic, client, grant_type="authorization_code", code=code,
                                    redirect_uri=REDIRECT, code_verifier=verifier)
    finally:
        await browser.close()
    assert first["refresh_token"].startswith("ory_rt_")  # refresh tokens stay opaque, as in Hydra
    claims = await verify_offline(jwt_server.public_url, first["access_token"])
    assert claims["sub"] == "foo@bar.com" and claims["client_id"] == client["client_id"]
    assert claims["scp"] == ["openid", "offline_access", "api"] and claims["aud"] == []
    # session.access_token is mirrored under ext; `team` is allowed at the top level, `sub` never overrides.
    assert claims["ext"] == {"team": "blue", "sub": "not-the-subject", "nested": {"a": 1}}
    assert claims["team"] == "blue" and "nested" not in claims
    info = await introspect(jadmin, first["access_token"])
    assert info["active"] and info["sub"] == "foo@bar.com" and info["ext"] == claims["ext"]
    id_claims = segments(first["id_token"])[1]
    assert id_claims["name"] == "Foo" and "team" not in id_claims

    me = await jpublic.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.status_code == 200 and me.json()["sub"] == "foo@bar.com"

    second = await token_request(jpublic, client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    refreshed = await verify_offline(jwt_server.public_url, second["access_token"])
    assert refreshed["ext"] == claims["ext"] and refreshed["team"] == "blue" and refreshed["jti"] != claims["jti"]
    assert await introspect(jadmin, first["access_token"]) == {"active": False}  # rotation drops the old AT
    assert (await introspect(jadmin, second["access_token"]))["active"] is True

    # Reusing the spent refresh token revokes the whole chain, JWT access token included.
    reuse = await jpublic.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": first["refresh_token"]},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert await introspect(jadmin, second["access_token"]) == {"active": False}
    me = await jpublic.get("/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 401


async def test_key_rotation_new_key_signs_old_tokens_verify_until_deleted(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin)
    old_token = await issue(jpublic, client)
    old_kid = segments(old_token)[0]["kid"]
    made = await jadmin.post(f"/admin/keys/{AT_SET}", json={"alg": "ES256", "use": "sig", "kid": "at-rotated"})
    assert made.status_code == 201, made.text
    try:
        new_token = await issue(jpublic, client)
        assert segments(new_token)[0] == {"alg": "ES256", "kid": "at-rotated", "typ": "JWT"}
        published = {k["kid"] for k in (await jpublic.get("/.well-known/jwks.json")).json()["keys"]}
        assert {old_kid, "at-rotated"} <= published
        await verify_offline(jwt_server.public_url, old_token)
        await verify_offline(jwt_server.public_url, new_token)
        assert (await introspect(jadmin, old_token))["active"] is True
        assert (await introspect(jadmin, new_token))["active"] is True

        # Deleting the old key: its tokens no longer verify, the new key's still do and it keeps signing.
        assert (await jadmin.delete(f"/admin/keys/{AT_SET}/{old_kid}")).status_code == 204
        assert await introspect(jadmin, old_token) == {"active": False}
        assert (await introspect(jadmin, new_token))["active"] is True
        assert old_kid not in {k["kid"] for k in (await jpublic.get("/.well-known/jwks.json")).json()["keys"]}
        assert segments(await issue(jpublic, client))[0]["kid"] == "at-rotated"
    finally:
        await jadmin.delete(f"/admin/keys/{AT_SET}/at-rotated")


async def test_a_key_added_by_another_process_is_picked_up_on_its_unknown_kid(jwt_server, jadmin, jpublic):
    """A second server on the same database has the access-token set cached; a token signed with a key that the
    first server just created verifies there at once (the unknown kid makes it reload the set)."""
    client = await new_client(jadmin)
    with run_server(jwt_server.dsn, STRATEGIES_ACCESS_TOKEN="jwt") as other:
        async with httpx.AsyncClient(base_url=other.admin_url, timeout=30) as other_admin:
            assert (await introspect(other_admin, await issue(jpublic, client)))["active"] is True  # now cached
            made = await jadmin.post(f"/admin/keys/{AT_SET}", json={"alg": "ES256", "kid": "at-elsewhere"})
            assert made.status_code == 201, made.text
            try:
                token = await issue(jpublic, client)
                assert segments(token)[0]["kid"] == "at-elsewhere"
                assert (await introspect(other_admin, token))["active"] is True
            finally:
                await jadmin.delete(f"/admin/keys/{AT_SET}/at-elsewhere")


async def test_id_token_key_rotation_keeps_old_id_token_hints_valid_until_deleted(jwt_server, jadmin, jpublic):
    client = await new_client(jadmin, grant_types=["authorization_code"], response_types=["code"],
                              redirect_uris=[REDIRECT], scope="openid")

    async def id_token() -> str:
        browser = Browser(jwt_server.public_url, jadmin)
        try:
            code, verifier = await sign_in(browser, client, "openid", {})
            return (await token_request(jpublic, client, grant_type="authorization_code", code=code,
                                        redirect_uri=REDIRECT, code_verifier=verifier))["id_token"]
        finally:
            await browser.close()

    async def hint_accepted(token: str) -> bool:
        r = await jpublic.get("/oauth2/sessions/logout", params={"id_token_hint": token})
        return r.status_code == 302 and "error" not in r.headers["location"]

    old = await id_token()
    old_kid = segments(old)[0]["kid"]
    made = await jadmin.post(f"/admin/keys/{ID_SET}", json={"alg": "ES256", "kid": "id-rotated"})
    assert made.status_code == 201, made.text
    try:
        new = await id_token()
        assert segments(new)[0]["kid"] == "id-rotated"
        assert await hint_accepted(old) and await hint_accepted(new)
        assert (await jadmin.delete(f"/admin/keys/{ID_SET}/{old_kid}")).status_code == 204
        assert not await hint_accepted(old)
        assert await hint_accepted(new)
    finally:
        await jadmin.delete(f"/admin/keys/{ID_SET}/id-rotated")
