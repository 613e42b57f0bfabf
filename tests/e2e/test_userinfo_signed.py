"""Signed userinfo (OIDC Core §5.3.2): a client registered with `userinfo_signed_response_alg` RS256 gets
`/userinfo` as an `application/jwt` signed with the ID-token key set (as Hydra's UserinfoHandler: the userinfo
claims plus a fresh `jti` and `iat`); every other client keeps the JSON answer.
"""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import basic

REDIRECT = "http://127.0.0.1:5561/callback"


async def access_token(browser, public: httpx.AsyncClient, client: dict) -> str:
    code, _ = await browser.code(client, REDIRECT, "openid", nonce="nonce-0123456789")
    answer = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": REDIRECT},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def test_signed_userinfo_is_a_jwt_from_the_id_token_keys(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid",
                               userinfo_signed_response_alg="RS256")
    token = await access_token(browser, public, client)
    answer = await public.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/jwt"
    assert "no-store" in answer.headers["cache-control"]
    jwks = KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())
    decoded = jwt.decode(answer.text, jwks, algorithms=["RS256"])
    claims = decoded.claims
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"]
    assert claims["sub"] == "foo@bar.com" and claims["iss"] == f"{browser.public_url}/"
    assert claims["aud"] == [client["client_id"]]
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert abs(claims["iat"] - time.time()) < 600
    assert "nonce" not in claims and "exp" not in claims and "at_hash" not in claims
    again = await public.post("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert again.headers["content-type"] == "application/jwt"
    assert jwt.decode(again.text, jwks, algorithms=["RS256"]).claims["jti"] != claims["jti"]


async def test_unsigned_client_keeps_json(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid")
    assert client["userinfo_signed_response_alg"] == "none"
    token = await access_token(browser, public, client)
    answer = await public.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["sub"] == "foo@bar.com" and body["aud"] == [client["client_id"]] and "jti" not in body


async def test_bad_token_on_signed_client_is_401_json(public):
    answer = await public.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


async def test_discovery_lists_the_signing_alg(public):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    assert doc["userinfo_signing_alg_values_supported"] == ["none", "RS256"]
    assert doc["userinfo_signed_response_alg"] == ["RS256"]
