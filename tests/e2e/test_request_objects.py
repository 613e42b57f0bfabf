"""Request objects (OIDC Core §6): the `request` and `request_uri` authorization parameters, as fosite does them.

A request object signed RS256 by a client with an inline JWKS drives a full code flow with its claims winning
over the query's; a `request_uri` served by a small HTTP server on 127.0.0.1 and registered on the client works;
an unregistered request_uri, a bad signature, alg `none` without registration and a mismatched client_id are
refused on the error page (400, never a 500 and never a redirect: the redirect_uri is not validated yet).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import basic
from tests.e2e.browser import query
from tests.e2e.documents import DocumentServer, serving

REDIRECT = "http://127.0.0.1:5562/callback"
OTHER = "http://127.0.0.1:5562/other"


@pytest.fixture(scope="module")
def objects() -> Iterator[DocumentServer]:
    """Serves request objects by path (JWTs) and counts the requests."""
    with serving(DocumentServer("application/oauth-authz-req+jwt")) as srv:
        yield srv


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "ro-1", "use": "sig", "alg": "RS256"}, private=True)


def sign(key: RSAKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS256", "typ": "oauth-authz-req+jwt", "kid": key.kid}, claims, key)


def unsigned(claims: dict[str, Any]) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}."


def object_claims(client: dict, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": client["client_id"], "aud": "hydralite", "client_id": client["client_id"],
              "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid profile",
              "state": "state-from-the-object", "nonce": "nonce-from-the-object", "iat": now, "exp": now + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def auth_url(browser, client: dict, **params: str) -> str:
    # The query names openid (fosite looks at request objects only then) and a redirect_uri the object overrides.
    base = {"client_id": client["client_id"], "response_type": "code", "scope": "openid",
            "redirect_uri": OTHER, "state": "state-from-the-query"}
    return f"{browser.public_url}/oauth2/auth?{urlencode({**base, **params})}"


@pytest.fixture
def ro_client(make_client, rsa):
    async def create(**fields: Any) -> dict:
        fields.setdefault("jwks", {"keys": [rsa.as_dict(private=False)]})
        if fields["jwks"] is None:
            del fields["jwks"]
        fields.setdefault("request_object_signing_alg", "RS256")
        return await make_client(grant_types=["authorization_code"], response_types=["code"],
                                 redirect_uris=[REDIRECT, OTHER], scope="openid profile", **fields)
    return create


def refused(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    assert "location" not in response.headers
    assert error in response.text, response.text


async def finish(browser, public: httpx.AsyncClient, client: dict, first: httpx.Response) -> dict:
    """Log in and consent; check the callback and the ID token carry the request object's values."""
    login = (await browser.admin.get("/admin/oauth2/auth/requests/login",
                                     params={"login_challenge": query(first.headers["location"])["login_challenge"]}))
    assert login.json()["requested_scope"] == ["openid", "profile"]
    back = await browser.consent(await browser.login(first))
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT + "?"), back.headers
    params = query(back.headers["location"])
    assert params["state"] == "state-from-the-object"
    tokens = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                      "redirect_uri": REDIRECT},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]
    claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    assert claims["nonce"] == "nonce-from-the-object"
    return params


async def test_signed_request_object_drives_a_code_flow(browser, public, ro_client, rsa):
    client = await ro_client()
    first = await browser.start(auth_url(browser, client, request=sign(rsa, object_claims(client))))
    await finish(browser, public, client, first)


async def test_request_uri_registered_on_the_client(browser, public, ro_client, rsa, objects):
    pending = f"{objects.base}/ro/{uuid.uuid4().hex}"
    client = await ro_client(request_uris=[pending])
    objects.documents[pending.removeprefix(objects.base)] = sign(rsa, object_claims(client)).encode()
    before = objects.total
    first = await browser.start(auth_url(browser, client, request_uri=pending))
    assert objects.total == before + 1
    await finish(browser, public, client, first)


async def test_unregistered_or_failing_request_uri_is_refused(browser, ro_client, rsa, objects):
    client = await ro_client(request_uris=[f"{objects.base}/ro/missing"])
    elsewhere = objects.publish(sign(rsa, object_claims(client)).encode(), "/ro")
    before = objects.total
    refused(await browser.get(auth_url(browser, client, request_uri=elsewhere)), "invalid_request_uri")
    assert objects.total == before  # never fetched
    refused(await browser.get(auth_url(browser, client, request_uri=f"{objects.base}/ro/missing")),
            "invalid_request_uri")


async def test_bad_objects_are_refused(browser, ro_client, rsa):
    client = await ro_client()
    other = RSAKey.generate_key(2048, parameters={"kid": "ro-1", "use": "sig", "alg": "RS256"}, private=True)
    refused(await browser.get(auth_url(browser, client, request=sign(other, object_claims(client)))),
            "invalid_request_object")
    refused(await browser.get(auth_url(browser, client, request=unsigned(object_claims(client)))),
            "invalid_request_object")
    refused(await browser.get(auth_url(browser, client, request=sign(rsa, object_claims(client, client_id="x")))),
            "invalid_request_object")
    refused(await browser.get(auth_url(browser, client, request=sign(rsa, object_claims(
        client, response_type="token")))), "invalid_request_object")
    expired = object_claims(client, exp=int(time.time()) - 60)
    refused(await browser.get(auth_url(browser, client, request=sign(rsa, expired))), "invalid_request_object")
    for junk in ("not-a-jwt", "a.b.c", "e30.e30.", "x" * 70000):
        response = await browser.http.post(f"{browser.public_url}/oauth2/auth",
                                           data={"client_id": client["client_id"], "response_type": "code",
                                                 "scope": "openid", "state": "state-12345678", "request": junk})
        assert response.status_code in (400, 413), (junk[:10], response.status_code, response.text[:200])
    both = auth_url(browser, client, request=sign(rsa, object_claims(client)), request_uri="http://127.0.0.1/x")
    refused(await browser.get(both), "invalid_request")


async def test_alg_none_only_when_registered(browser, public, ro_client):
    unregistered = await ro_client(request_object_signing_alg="")
    refused(await browser.get(auth_url(browser, unregistered, request=unsigned(object_claims(unregistered)))),
            "invalid_request_object")
    registered = await ro_client(request_object_signing_alg="none")
    first = await browser.start(auth_url(browser, registered, request=unsigned(object_claims(registered))))
    await finish(browser, public, registered, first)


async def test_client_without_keys_is_refused(browser, make_client, rsa):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid")
    refused(await browser.get(auth_url(browser, client, redirect_uri=REDIRECT,
                                       request=sign(rsa, object_claims(client)))), "invalid_request")


async def test_discovery_advertises_request_objects(public):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    assert doc["request_parameter_supported"] is True and doc["request_uri_parameter_supported"] is True
    assert doc["require_request_uri_registration"] is True
    assert doc["request_object_signing_alg_values_supported"] == ["none", "RS256", "ES256"]


async def test_keys_from_jwks_uri(browser, public, ro_client, rsa, objects):
    path = f"/jwks/{uuid.uuid4().hex}"
    objects.documents[path] = json.dumps({"keys": [rsa.as_dict(private=False)]}).encode()
    client = await ro_client(jwks=None, jwks_uri=objects.base + path)
    first = await browser.start(auth_url(browser, client, request=sign(rsa, object_claims(client))))
    await finish(browser, public, client, first)
