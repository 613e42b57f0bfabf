"""OpenID Connect: discovery, JWKS, ID token claims, keys admin API, and the Hydra SDK's flow and key calls."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import asyncpg
import ory_hydra_client as hydra
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from ory_hydra_client.models import (
    AcceptOAuth2ConsentRequest,
    AcceptOAuth2ConsentRequestSession,
    AcceptOAuth2LoginRequest,
    CreateJsonWebKeySet,
)

from tests.conftest import basic
from tests.e2e.browser import pkce_pair, query

REDIRECT = "http://127.0.0.1:5558/callback"



@pytest.fixture
def sdk(server):
    with hydra.ApiClient(hydra.Configuration(host=server.admin_url)) as api_client:
        yield api_client


async def test_discovery_and_jwks(public, server):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == f"{server.public_url}/"
    assert doc["token_endpoint"] == f"{server.public_url}/oauth2/token"
    assert doc["code_challenge_methods_supported"] == ["S256"] and "code" in doc["response_types_supported"]
    assert (await public.get("/.well-known/oauth-authorization-server")).json() == doc
    keys = (await public.get(doc["jwks_uri"].replace(f"{server.public_url}", ""))).json()["keys"]
    assert keys and all("d" not in k and "p" not in k for k in keys)
    assert any(k["alg"] == "RS256" and k["use"] == "sig" for k in keys)


async def test_id_token_claims(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid api")
    verifier, challenge = pkce_pair()
    first = await browser.start(browser.auth_url(client, REDIRECT, "openid api", nonce="nonce-0123456789",
                                                 code_challenge=challenge, code_challenge_method="S256"))
    after_login = await browser.login(first, acr="urn:acr:1", amr=["pwd"])
    back = await browser.consent(after_login, session={"id_token": {"email": "foo@bar.com", "iss": "evil"},
                                                       "access_token": {"role": "admin"}})
    code = query(back.headers["location"])["code"]
    tokens = (await public.post("/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        headers=basic(client["client_id"], client["client_secret"]))).json()
    jwks = KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())
    claims = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims
    assert claims["iss"] == f"{browser.public_url}/" and claims["sub"] == "foo@bar.com"
    assert claims["aud"] == [client["client_id"]] and claims["nonce"] == "nonce-0123456789"
    assert claims["exp"] - claims["iat"] == 3600 and claims["auth_time"] <= claims["iat"]
    assert claims["sid"] and claims["acr"] == "urn:acr:1" and claims["amr"] == ["pwd"]
    assert claims["email"] == "foo@bar.com"  # the consent's session.id_token, but standard claims win
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    info = (await browser.admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})).json()
    assert info["ext"] == {"role": "admin"}
    me = (await public.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()
    assert me["sub"] == "foo@bar.com" and me["email"] == "foo@bar.com" and "nonce" not in me


async def test_userinfo_needs_openid_scope(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="api")
    code, _ = await browser.code(client, REDIRECT, "api")
    tokens = (await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                       "redirect_uri": REDIRECT},
                                headers=basic(client["client_id"], client["client_secret"]))).json()
    response = await public.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    missing = await public.get("/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer ")


async def test_keys_admin_api(admin, server):
    created = await admin.post("/admin/keys/my-set", json={"alg": "ES256", "use": "sig", "kid": "es-1"})
    assert created.status_code == 201
    key = created.json()["keys"][0]
    assert key["kid"] == "es-1" and key["kty"] == "EC" and "d" in key
    assert (await admin.get("/admin/keys/my-set")).json()["keys"][0]["kid"] == "es-1"
    assert (await admin.get("/admin/keys/my-set/es-1")).status_code == 200
    unsupported = await admin.post("/admin/keys/my-set", json={"alg": "HS256", "use": "sig"})
    assert unsupported.status_code == 400 and unsupported.json()["error_description"] == "Unsupported key algorithm"
    key["use"] = "enc"
    assert (await admin.put("/admin/keys/my-set/es-1", json=key)).json()["use"] == "enc"
    conn = await asyncpg.connect(server.dsn)
    try:
        stored = await conn.fetchval("SELECT keydata FROM hydralite_jwk WHERE set_id='my-set' AND kid='es-1'")
    finally:
        await conn.close()
    assert key["d"] not in stored and not stored.startswith("{")  # private keys are sealed at rest
    assert (await admin.delete("/admin/keys/my-set/es-1")).status_code == 204
    assert (await admin.get("/admin/keys/my-set/es-1")).status_code == 404
    assert (await admin.get("/admin/keys/my-set")).status_code == 404
    bad = await admin.put("/admin/keys/my-set", json={"keys": [{"kty": "nope", "kid": "x"}]})
    assert bad.status_code == 400


async def test_hydra_sdk_login_consent_logout_and_keys(sdk, browser, make_client):
    oauth2, keys = hydra.OAuth2Api(sdk), hydra.JwkApi(sdk)
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid api")
    first = await browser.start(browser.auth_url(client, REDIRECT, "openid api", nonce="sdk-nonce-123"))
    login_challenge = query(first.headers["location"])["login_challenge"]
    login = await asyncio.to_thread(oauth2.get_o_auth2_login_request, login_challenge)
    assert login.client.client_id == client["client_id"] and login.requested_scope == ["openid", "api"]
    accepted = await asyncio.to_thread(oauth2.accept_o_auth2_login_request, login_challenge,
                                       AcceptOAuth2LoginRequest(subject="sdk-user", remember=True, remember_for=60))
    second = await browser.get(accepted.redirect_to)
    consent_challenge = query(second.headers["location"])["consent_challenge"]
    consent = await asyncio.to_thread(oauth2.get_o_auth2_consent_request, consent_challenge)
    assert consent.subject == "sdk-user" and consent.skip is False
    done = await asyncio.to_thread(
        oauth2.accept_o_auth2_consent_request, consent_challenge,
        AcceptOAuth2ConsentRequest(grant_scope=["openid", "api"], remember=True,
                                   session=AcceptOAuth2ConsentRequestSession(id_token={"name": "SDK"})))
    back = await browser.get(done.redirect_to)
    assert back.status_code == 303 and "code=" in back.headers["location"]
    sessions = await asyncio.to_thread(oauth2.list_o_auth2_consent_sessions, "sdk-user")
    assert sessions and sessions[0].grant_scope == ["openid", "api"]

    start = await browser.get(f"{browser.public_url}/oauth2/sessions/logout")
    logout_challenge = query(start.headers["location"])["logout_challenge"]
    logout = await asyncio.to_thread(oauth2.get_o_auth2_logout_request, logout_challenge)
    assert logout.subject == "sdk-user"
    assert (await asyncio.to_thread(oauth2.accept_o_auth2_logout_request, logout_challenge)).redirect_to
    await asyncio.to_thread(oauth2.revoke_o_auth2_consent_sessions, "sdk-user", all=True)
    assert await asyncio.to_thread(oauth2.list_o_auth2_consent_sessions, "sdk-user") == []

    made = await asyncio.to_thread(keys.create_json_web_key_set, "sdk-set",
                                   CreateJsonWebKeySet(alg="RS256", use="sig", kid="sdk-key"))
    assert made.keys[0].kid == "sdk-key"
    assert (await asyncio.to_thread(keys.get_json_web_key, "sdk-set", "sdk-key")).keys[0].kty == "RSA"
    await asyncio.to_thread(keys.delete_json_web_key_set, "sdk-set")
    with pytest.raises(hydra.exceptions.NotFoundException):
        await asyncio.to_thread(keys.get_json_web_key_set, "sdk-set")


async def test_rp_initiated_logout_with_id_token_hint(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid",
                               post_logout_redirect_uris=["http://127.0.0.1:5558/logged-out"])
    first = await browser.start(browser.auth_url(client, REDIRECT, "openid", nonce="logout-nonce-1"))
    back = await browser.consent(await browser.login(first, remember=True))
    code = query(back.headers["location"])["code"]
    id_token = (await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                         "redirect_uri": REDIRECT},
                                  headers=basic(client["client_id"], client["client_secret"]))).json()["id_token"]
    base = f"{browser.public_url}/oauth2/sessions/logout"
    unregistered = await browser.get(f"{base}?id_token_hint={id_token}&post_logout_redirect_uri="
                                     "http://127.0.0.1:5558/elsewhere&state=state-123456")
    assert unregistered.status_code == 400 and "location" not in unregistered.headers
    forged = await browser.get(f"{base}?id_token_hint={id_token[:-4]}AAAA&state=state-123456")
    assert forged.status_code == 400 and "location" not in forged.headers
    start = await browser.get(f"{base}?id_token_hint={id_token}&post_logout_redirect_uri="
                              "http://127.0.0.1:5558/logged-out&state=state-123456")
    challenge = query(start.headers["location"])["logout_challenge"]
    request = (await browser.admin.get("/admin/oauth2/auth/requests/logout",
                                       params={"logout_challenge": challenge})).json()
    assert request["rp_initiated"] is True and request["client"]["client_id"] == client["client_id"]
    accepted = await browser.admin.put("/admin/oauth2/auth/requests/logout/accept",
                                       params={"logout_challenge": challenge})
    done = await browser.get(accepted.json()["redirect_to"])
    assert done.status_code == 302
    assert done.headers["location"] == "http://127.0.0.1:5558/logged-out?state=state-123456"
