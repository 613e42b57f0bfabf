"""Implicit and hybrid response types (OIDC Core §3.2, §3.3) end to end through login and consent.

ID tokens are checked by joserfc against the server's JWKS; `at_hash` and `c_hash` are recomputed here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import basic
from tests.e2e.browser import pkce_pair

REDIRECT = "http://127.0.0.1:5561/cb"
NONCE = "nonce-implicit-0123456789"


def fragment(location: str) -> dict[str, str]:
    """The parameters of a fragment response; the query of the redirect URI must carry none of them."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT and not parts.query, location
    return {k: v[0] for k, v in parse_qs(parts.fragment).items()}


def half_sha256(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()[:16]).rstrip(b"=").decode()


async def id_token_claims(public, token: str) -> dict:
    """Verify the ID token's signature with the published JWKS (joserfc) and return its claims."""
    jwks = KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())
    return dict(jwt.decode(token, jwks, algorithms=["RS256"]).claims)


async def sign_in(browser, client: dict, response_type: str, scope: str, session: dict | None = None, **extra: str):
    """Login and consent for one authorization request; returns hydralite's final response."""
    first = await browser.start(browser.auth_url(client, REDIRECT, scope, response_type=response_type, **extra))
    assert "login_challenge" in first.headers["location"], first.headers["location"]
    return await browser.consent(await browser.login(first), session=session)


async def exchange(public, client: dict, code: str, **extra: str):
    return await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": REDIRECT, **extra},
                             headers=basic(client["client_id"], client["client_secret"]))


async def introspect(admin, token: str) -> dict:
    return (await admin.post("/admin/oauth2/introspect", data={"token": token})).json()


async def test_discovery_lists_hydras_response_types_and_the_implicit_grant(public):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    assert doc["response_types_supported"] == ["code", "code id_token", "id_token", "token id_token", "token",
                                               "token id_token code"]
    assert "implicit" in doc["grant_types_supported"]
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]


async def test_implicit_id_token_token_validated_by_joserfc(browser, public, admin, make_client):
    client = await make_client(grant_types=["implicit", "refresh_token"], response_types=["id_token token"],
                               redirect_uris=[REDIRECT], scope="openid offline_access api")
    # Registered as "id_token token", requested as "token id_token": the order does not matter (RFC 6749 §3.1.1).
    back = await sign_in(browser, client, "token id_token", "openid offline_access api", nonce=NONCE,
                         state="state-implicit-1",
                         session={"id_token": {"email": "foo@bar.com"}, "access_token": {"role": "reader"}})
    assert back.status_code == 303 and "no-store" in back.headers["cache-control"]
    params = fragment(back.headers["location"])
    assert set(params) == {"access_token", "expires_in", "token_type", "scope", "state", "iss", "id_token"}
    assert params["token_type"] == "bearer" and params["expires_in"] == "3600"
    assert params["scope"] == "openid offline_access api" and params["state"] == "state-implicit-1"
    assert params["access_token"].startswith("ory_at_") and params["iss"] == f"{browser.public_url}/"

    claims = await id_token_claims(public, params["id_token"])
    assert claims["nonce"] == NONCE and claims["at_hash"] == half_sha256(params["access_token"])
    assert claims["aud"] == [client["client_id"]] and claims["sub"] == "foo@bar.com"
    assert claims["iss"] == f"{browser.public_url}/" and claims["email"] == "foo@bar.com"
    assert "c_hash" not in claims and claims["exp"] - claims["iat"] == 3600 and claims["auth_time"]

    info = await introspect(admin, params["access_token"])
    assert info["active"] and info["client_id"] == client["client_id"] and info["sub"] == "foo@bar.com"
    assert info["scope"] == "openid offline_access api" and info["ext"] == {"role": "reader"}
    me = await public.get("/userinfo", headers={"Authorization": f"Bearer {params['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "foo@bar.com"


async def test_implicit_token_only_and_id_token_only(browser, public, admin, make_client):
    client = await make_client(grant_types=["implicit"], response_types=["token", "id_token"],
                               redirect_uris=[REDIRECT], scope="openid api")
    token_only = fragment((await sign_in(browser, client, "token", "api")).headers["location"])
    assert "id_token" not in token_only and token_only["token_type"] == "bearer" and token_only["scope"] == "api"
    assert (await introspect(admin, token_only["access_token"]))["active"] is True

    id_only = fragment((await sign_in(browser, client, "id_token", "openid", nonce=NONCE)).headers["location"])
    assert "access_token" not in id_only and "code" not in id_only and id_only["state"]
    claims = await id_token_claims(public, id_only["id_token"])
    assert claims["nonce"] == NONCE and "at_hash" not in claims and "c_hash" not in claims


async def test_implicit_form_post(browser, make_client):
    client = await make_client(grant_types=["implicit"], response_types=["token"], redirect_uris=[REDIRECT],
                               scope="api")
    back = await sign_in(browser, client, "token", "api", response_mode="form_post", state="state-form-post")
    assert back.status_code == 200 and back.headers["x-frame-options"] == "DENY"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', back.text))
    assert f'action="{REDIRECT}"' in back.text and html.unescape(fields["state"]) == "state-form-post"
    assert fields["access_token"].startswith("ory_at_") and fields["token_type"] == "bearer"


async def test_hybrid_code_id_token_c_hash_then_exchange(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], response_types=["code id_token"],
                               redirect_uris=[REDIRECT], scope="openid api")
    verifier, challenge = pkce_pair()
    back = await sign_in(browser, client, "code id_token", "openid api", nonce=NONCE, code_challenge=challenge,
                         code_challenge_method="S256")
    params = fragment(back.headers["location"])
    assert "access_token" not in params and params["code"].startswith("ory_ac_")
    claims = await id_token_claims(public, params["id_token"])
    assert claims["c_hash"] == half_sha256(params["code"]) and claims["nonce"] == NONCE
    assert "at_hash" not in claims

    tokens = await exchange(public, client, params["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert "refresh_token" not in body and body["access_token"].startswith("ory_at_")
    exchanged = await id_token_claims(public, body["id_token"])
    assert exchanged["nonce"] == NONCE and exchanged["at_hash"] == half_sha256(body["access_token"])
    assert exchanged["sub"] == claims["sub"] == "foo@bar.com"


@pytest.mark.parametrize("response_type", ["code token", "code id_token token"])
async def test_hybrid_with_token_and_code_reuse_revokes_it(browser, public, admin, make_client, response_type):
    client = await make_client(grant_types=["authorization_code", "implicit", "refresh_token"],
                               response_types=[response_type], redirect_uris=[REDIRECT],
                               scope="openid offline_access api")
    back = await sign_in(browser, client, " ".join(reversed(response_type.split())), "openid offline_access api",
                         nonce=NONCE)
    params = fragment(back.headers["location"])
    assert "refresh_token" not in params and params["token_type"] == "bearer" and params["expires_in"] == "3600"
    assert ("id_token" in params) == ("id_token" in response_type)
    if "id_token" in params:
        claims = await id_token_claims(public, params["id_token"])
        assert claims["c_hash"] == half_sha256(params["code"])
        assert claims["at_hash"] == half_sha256(params["access_token"])
    assert (await introspect(admin, params["access_token"]))["active"] is True

    first = await exchange(public, client, params["code"])
    assert first.status_code == 200 and first.json()["refresh_token"]  # the token endpoint may refresh
    again = await exchange(public, client, params["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: reuse revokes everything issued from the grant, the front-channel token included.
    assert (await introspect(admin, params["access_token"]))["active"] is False
    assert (await introspect(admin, first.json()["access_token"]))["active"] is False


async def refused(browser, client: dict, scope: str, **extra: str) -> dict[str, str]:
    """An authorization request refused before login: the error goes to the redirect URI, in the fragment."""
    response = await browser.get(browser.auth_url(client, REDIRECT, scope, **extra))
    assert response.status_code == 303, response.text
    params = fragment(response.headers["location"])
    assert params["state"] and params["iss"] == f"{browser.public_url}/"
    assert not {"access_token", "id_token", "code"} & set(params)
    return params


async def test_refusals_in_the_fragment(browser, make_client):
    only_code = await make_client(grant_types=["authorization_code"], response_types=["code"],
                                  redirect_uris=[REDIRECT], scope="openid api")
    unregistered = await refused(browser, only_code, "openid", response_type="id_token token", nonce=NONCE)
    assert unregistered["error"] == "unsupported_response_type"
    assert "not allowed to request response_type 'id_token token'" in unregistered["error_description"]

    implicit = await make_client(grant_types=["implicit"], response_types=["id_token token", "id_token"],
                                 redirect_uris=[REDIRECT], scope="openid api")
    no_nonce = await refused(browser, implicit, "openid", response_type="id_token token")
    assert no_nonce["error"] == "invalid_request"
    assert "Parameter 'nonce' must be set when using the OpenID Connect Implicit Flow." in \
        no_nonce["error_description"]
    short_nonce = await refused(browser, implicit, "openid", response_type="id_token", nonce="short")
    assert short_nonce["error"] == "insufficient_entropy"
    no_openid = await refused(browser, implicit, "api", response_type="id_token", nonce=NONCE)
    assert no_openid["error"] == "unsupported_response_type"

    hybrid = await make_client(grant_types=["authorization_code"], response_types=["code id_token"],
                               redirect_uris=[REDIRECT], scope="openid api")
    hybrid_no_nonce = await refused(browser, hybrid, "openid", response_type="code id_token")
    assert hybrid_no_nonce["error"] == "invalid_request" and "Hybrid Flow" in hybrid_no_nonce["error_description"]


async def test_client_lacking_the_grant_type_is_refused(browser, make_client):
    no_implicit = await make_client(grant_types=["authorization_code"], response_types=["token", "code token"],
                                    redirect_uris=[REDIRECT], scope="api")
    for response_type in ("token", "code token"):
        params = await refused(browser, no_implicit, "api", response_type=response_type)
        assert params["error"] == "invalid_grant"
        assert "not allowed to use the authorization grant 'implicit'" in params["error_description"]
    no_code = await make_client(grant_types=["implicit"], response_types=["code token"], redirect_uris=[REDIRECT],
                                scope="api")
    params = await refused(browser, no_code, "api", response_type="code token")
    assert params["error"] == "invalid_grant" and "'authorization_code'" in params["error_description"]


async def test_query_response_mode_is_refused_in_the_query(browser, make_client):
    client = await make_client(grant_types=["implicit"], response_types=["token"], redirect_uris=[REDIRECT],
                               scope="api")
    response = await browser.get(browser.auth_url(client, REDIRECT, "api", response_type="token",
                                                  response_mode="query"))
    assert response.status_code == 303
    parts = urlsplit(response.headers["location"])
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert not parts.fragment and params["error"] == "unsupported_response_mode"
    assert "Insecure response_mode 'query' for the response_type '[token]'." in params["error_description"]


async def test_consent_without_openid_fails_an_id_token_request_after_consent(browser, admin, make_client):
    client = await make_client(grant_types=["implicit"], response_types=["id_token"], redirect_uris=[REDIRECT],
                               scope="openid api")
    first = await browser.start(browser.auth_url(client, REDIRECT, "openid api", response_type="id_token",
                                                 nonce=NONCE))
    second = await browser.login(first)
    challenge = parse_qs(urlsplit(second.headers["location"]).query)["consent_challenge"][0]
    answer = await admin.put("/admin/oauth2/auth/requests/consent/accept", params={"consent_challenge": challenge},
                             json={"grant_scope": ["api"]})
    assert answer.status_code == 200, answer.text
    back = await browser.get(answer.json()["redirect_to"])
    params = fragment(back.headers["location"])
    assert params["error"] == "unsupported_response_type" and "id_token" not in params
