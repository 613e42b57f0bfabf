"""Introspection (RFC 7662, REFERENCE §5), revocation (RFC 7009) and system-secret rotation
(SECURITY.md D1–D7)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.conftest import TEST_SECRET, basic, run_server
from tests.e2e.browser import Browser

REDIRECT = "http://127.0.0.1:5555/callback"
NEW_SECRET = "a-new-system-secret-0123456789"


async def issue(public, client, **form) -> str:
    r = await public.post("/oauth2/token", headers=basic(client["client_id"], client["client_secret"]),
                          data={"grant_type": "client_credentials", **form})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def introspect(admin, token: str, **form) -> dict:
    r = await admin.post("/admin/oauth2/introspect", data={"token": token, **form})
    assert r.status_code == 200, r.text
    return r.json()


async def revoke(public, client, token: str, **form):
    return await public.post("/oauth2/revoke", data={"token": token, **form},
                             headers=basic(client["client_id"], client["client_secret"]))


@pytest.fixture
async def client(make_client):
    return await make_client(audience=["https://api.example.com"])


async def test_introspection_fields_and_order(admin, public, client, server):
    token = await issue(public, client, scope="api read", audience="https://api.example.com/x")
    r = await admin.post("/admin/oauth2/introspect", data={"token": token})
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    info = r.json()
    assert list(info) == ["active", "scope", "client_id", "sub", "exp", "iat", "nbf", "aud", "iss", "token_type",
                          "token_use"]
    assert info["active"] is True and info["scope"] == "api read"
    assert info["client_id"] == info["sub"] == client["client_id"]
    assert info["exp"] - info["iat"] == 3600 and info["nbf"] == info["iat"]
    assert info["aud"] == ["https://api.example.com/x"] and info["iss"] == server.public_url + "/"
    assert info["token_type"] == "Bearer" and info["token_use"] == "access_token"


async def test_no_scope_token_omits_scope_and_has_empty_audience(admin, public, client):
    info = await introspect(admin, await issue(public, client))
    assert "scope" not in info and info["aud"] == []


async def test_scope_parameter_must_all_be_granted(admin, public, client):
    token = await issue(public, client, scope="api read")
    assert (await introspect(admin, token, scope="api"))["active"] is True
    assert (await introspect(admin, token, scope="api read"))["active"] is True
    assert await introspect(admin, token, scope="api write") == {"active": False}


async def test_wrong_token_type_hint_still_finds_the_token_d1(admin, public, client):
    token = await issue(public, client)
    assert (await introspect(admin, token, token_type_hint="refresh_token"))["active"] is True
    assert (await introspect(admin, token, token_type_hint="bogus"))["active"] is True


@pytest.mark.parametrize("garbage", ["x", "ory_at_", "ory_at_abc.def", "ory_rt_abc.def", "ory_ac_abc.def",
                                     "ory_at_" + "A" * 43 + "." + "B" * 43, "a" * 1_000_000, "' OR 1=1--"])
async def test_unknown_or_garbage_token_is_inactive_d1(admin, garbage):
    assert await introspect(admin, garbage) == {"active": False}


async def test_forged_signature_is_inactive_d1(admin, public, client):
    token = await issue(public, client)
    rnd, sig = token.split(".")
    forged = rnd + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert await introspect(admin, forged) == {"active": False}


async def test_missing_or_empty_token_is_invalid_request_d1(admin):
    for data in ({"scope": "api"}, {"token": ""}):
        r = await admin.post("/admin/oauth2/introspect", data=data)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await admin.post("/admin/oauth2/introspect", content=b"",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_expired_token_is_inactive_d1(admin, public, client, server):
    token = await issue(public, client)
    conn = await asyncpg.connect(server.dsn)
    try:
        await conn.execute("UPDATE hydralite_access_token SET expires_at = now() - interval '1 second' "
                           "WHERE signature = $1", token.split(".")[1])
    finally:
        await conn.close()
    assert await introspect(admin, token) == {"active": False}


async def test_legacy_introspect_path_on_the_admin_port(admin, public, client):
    token = await issue(public, client)
    r = await admin.post("/oauth2/introspect", data={"token": token})
    assert r.status_code == 200 and r.json()["active"] is True


async def test_introspection_is_not_public_d3(public, client):
    r = await public.post("/oauth2/introspect", data={"token": "x"})
    assert r.status_code in (401, 404)
    r = await public.post("/admin/oauth2/introspect", data={"token": "x"})
    assert r.status_code in (401, 404, 405)


async def test_revoke_access_token(admin, public, client):
    token = await issue(public, client)
    other = await issue(public, client)
    r = await revoke(public, client, token)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["cache-control"] == "no-store"
    assert await introspect(admin, token) == {"active": False}
    assert (await introspect(admin, other))["active"] is True  # another grant of the same client lives on
    assert (await revoke(public, client, token)).status_code == 200  # revoking twice is fine


async def test_revoke_with_client_secret_post(admin, public, make_client):
    c = await make_client(token_endpoint_auth_method="client_secret_post")
    token = (await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": c["client_id"],
                                                      "client_secret": c["client_secret"]})).json()["access_token"]
    r = await public.post("/oauth2/revoke", data={"token": token, "client_id": c["client_id"],
                                                  "client_secret": c["client_secret"]})
    assert r.status_code == 200
    assert await introspect(admin, token) == {"active": False}


@pytest.mark.parametrize("token", ["unknown", "ory_at_abc.def", "ory_at_" + "A" * 43 + "." + "B" * 43])
async def test_revoke_unknown_token_is_200_d4(public, client, token):
    assert (await revoke(public, client, token)).status_code == 200
    assert (await revoke(public, client, token, token_type_hint="nonsense")).status_code == 200


async def test_revoke_missing_token_is_invalid_request(public, client):
    r = await public.post("/oauth2/revoke", data={"token_type_hint": "access_token"},
                          headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_revoke_another_clients_token_d5(admin, public, client, make_client):
    token = await issue(public, client)
    thief = await make_client()
    r = await revoke(public, thief, token)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    assert (await introspect(admin, token))["active"] is True


async def test_revoke_with_bad_client_auth_d6(admin, public, client):
    token = await issue(public, client)
    r = await public.post("/oauth2/revoke", data={"token": token},
                          headers=basic(client["client_id"], "wrong-secret"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await public.post("/oauth2/revoke", data={"token": token})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert (await introspect(admin, token))["active"] is True


async def test_revoking_either_token_revokes_the_grant_d7(server, admin, public, make_client):
    web = await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                            redirect_uris=[REDIRECT], scope="offline_access api")
    browser = Browser(server.public_url, admin)
    try:
        pairs = []
        for _ in range(2):
            code, _params = await browser.code(web, REDIRECT, "offline_access api")
            r = await public.post("/oauth2/token", headers=basic(web["client_id"], web["client_secret"]),
                                  data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
            assert r.status_code == 200, r.text
            pairs.append((r.json()["access_token"], r.json()["refresh_token"]))
    finally:
        await browser.close()
    (at1, rt1), (at2, rt2) = pairs
    assert (await revoke(public, web, rt1)).status_code == 200
    assert await introspect(admin, at1) == {"active": False}
    assert await introspect(admin, rt1) == {"active": False}
    assert (await revoke(public, web, at2)).status_code == 200
    assert await introspect(admin, rt2) == {"active": False}
    r = await public.post("/oauth2/token", headers=basic(web["client_id"], web["client_secret"]),
                          data={"grant_type": "refresh_token", "refresh_token": rt2})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_delete_client_access_tokens(admin, public, client, make_client):
    token = await issue(public, client)
    bystander = await make_client()
    kept = await issue(public, bystander)
    r = await admin.delete("/admin/oauth2/tokens")
    assert r.status_code == 400 and set(r.json()) == {"error", "error_description"}
    r = await admin.delete("/admin/oauth2/tokens", params={"client_id": client["client_id"]})
    assert r.status_code == 204
    assert await introspect(admin, token) == {"active": False}
    assert (await introspect(admin, kept))["active"] is True


async def test_rotated_system_secret_d2(server, admin, public, client):
    """SECRETS_SYSTEM=new,old: old tokens stay valid, new ones use the new secret; dropping old kills them."""
    old_token = await issue(public, client, scope="api")
    with run_server(server.dsn, SECRETS_SYSTEM=f"{NEW_SECRET},{TEST_SECRET}") as rotated:
        async with httpx.AsyncClient(base_url=rotated.admin_url, timeout=30) as radmin, \
                httpx.AsyncClient(base_url=rotated.public_url, timeout=30) as rpublic:
            info = await introspect(radmin, old_token)
            assert info["active"] is True and info["scope"] == "api"
            new_token = await issue(rpublic, client, scope="api")  # client secrets are independent of the rotation
            assert (await introspect(radmin, new_token))["active"] is True
            # the old server does not know the new secret
            assert await introspect(admin, new_token) == {"active": False}
            # clients created before the rotation page normally on the rotated server
            assert (await radmin.get(f"/admin/clients/{client['client_id']}")).status_code == 200
    with run_server(server.dsn, SECRETS_SYSTEM=NEW_SECRET) as dropped:
        async with httpx.AsyncClient(base_url=dropped.admin_url, timeout=30) as dadmin:
            assert await introspect(dadmin, old_token) == {"active": False}
            assert (await introspect(dadmin, new_token))["active"] is True


async def test_scope_parameter_outside_nqchar_is_inactive_not_an_error(admin, public, client):
    token = await issue(public, client, scope="api")
    assert await introspect(admin, token, scope='api"') == {"active": False}
    assert (await introspect(admin, token, scope="api  "))["active"] is True


async def test_only_the_signature_is_stored(public, client, server):
    token = await issue(public, client, scope="api")
    rnd, sig = token[len("ory_at_"):].split(".")
    conn = await asyncpg.connect(server.dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM hydralite_access_token WHERE signature = $1", sig)
        leaked = await conn.fetchval("SELECT count(*) FROM hydralite_access_token WHERE "
                                     "position($1 in row_to_json(hydralite_access_token)::text) > 0", rnd)
    finally:
        await conn.close()
    assert row is not None and row["client_id"] == client["client_id"] and list(row["scope"]) == ["api"]
    assert leaked == 0
