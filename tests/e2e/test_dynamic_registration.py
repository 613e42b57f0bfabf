"""OpenID Connect Dynamic Client Registration (RFC 7591/7592) as Hydra offers it (REFERENCE.md §1, client/handler.go):
404 while `oidc.dynamic_client_registration.enabled` is off; with it on, a client registers, reads, replaces and
deletes itself with its registration access token, gets tokens, and every bad input gets Hydra's error."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server, basic, run_server

REGISTER = "/oauth2/register"
MALFORMED = "The request was malformed or contained invalid parameters"
UNAUTHORIZED = {"error": "The request could not be authorized",
                "error_description": "The requested OAuth 2.0 client does not exist or you provided incorrect "
                                     "credentials."}
DISABLED = {"error": "The requested resource could not be found",
            "error_description": "Dynamic registration is not enabled."}
METADATA_PREFIX = ("The value of one of the Client Metadata fields is invalid and the server has rejected this "
                   "request. Note that an Authorization Server MAY choose to substitute a valid value for any "
                   "requested parameter of a Client's Metadata. ")
DEFAULT_SCOPE = "api openid"


@pytest.fixture(scope="module")
async def reg(postgres, template_db) -> AsyncIterator[Server]:
    """A server with dynamic registration switched on and its own default scope."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED="true",
                    OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE=DEFAULT_SCOPE) as srv:
        yield srv


@pytest.fixture
async def pub(reg: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=reg.public_url, timeout=30) as client:
        yield client


@pytest.fixture
async def adm(reg: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=reg.admin_url, timeout=30) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, error: str, description: str | None = None,
                 prefix: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    if description is not None:
        assert body["error_description"] == description, body
    if prefix is not None:
        assert body["error_description"].startswith(prefix) and body["error_description"] != prefix, body
    return body


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"].startswith("Bearer")


async def named(admin: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    """The stored clients called `name` (to show a refused request wrote nothing)."""
    listing = await admin.get("/admin/clients", params={"client_name": name})
    assert listing.status_code == 200, listing.text
    return listing.json()


async def register(pub: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    fields.setdefault("client_name", unique("dyn"))
    fields.setdefault("grant_types", ["client_credentials"])
    response = await pub.post(REGISTER, json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def client_credentials(pub: httpx.AsyncClient, client_id: str, secret: str, scope: str) -> httpx.Response:
    return await pub.post("/oauth2/token", headers=basic(client_id, secret),
                          data={"grant_type": "client_credentials", "scope": scope})


# --- switched off (the shared default server) ---

async def test_disabled_endpoints_are_hydras_404(server, public, admin, make_client) -> None:
    name = unique("off")
    created = await public.post(REGISTER, json={"client_name": name})
    assert created.status_code == 404 and created.json() == DISABLED, created.text
    assert await named(admin, name) == []
    # Even the valid registration token of an existing client opens nothing while the switch is off.
    existing = await make_client()
    token = existing["registration_access_token"]
    for method in ("GET", "PUT", "DELETE"):
        response = await public.request(method, f"{REGISTER}/{existing['client_id']}", headers=bearer(token),
                                        json={"client_name": "x"} if method == "PUT" else None)
        assert response.status_code == 404 and response.json() == DISABLED, (method, response.text)
    assert (await admin.get(f"/admin/clients/{existing['client_id']}")).json()["client_name"] == ""
    discovery = (await public.get("/.well-known/openid-configuration")).json()
    assert "registration_endpoint" not in discovery


# --- switched on ---

async def test_discovery_names_the_endpoint(reg, pub) -> None:
    discovery = (await pub.get("/.well-known/openid-configuration")).json()
    assert discovery["registration_endpoint"] == f"{reg.public_url}/oauth2/register"


async def test_register_read_update_delete_and_tokens(reg, pub, adm) -> None:
    name = unique("life")
    response = await pub.post(REGISTER, json={"client_id": "my-own-id", "client_name": name,
                                              "grant_types": ["client_credentials"], "contacts": ["a@b.example"]})
    assert response.status_code == 201, response.text
    client = response.json()
    cid = client["client_id"]
    assert cid != "my-own-id" and uuid.UUID(cid).version == 4  # always generated
    assert response.headers["location"] == f"admin/clients/{cid}"  # Hydra's relative Location
    assert re.fullmatch(r"[A-Za-z0-9_.~-]{26}", client["client_secret"])
    assert client["registration_access_token"].startswith("ory_at_")
    assert client["registration_client_uri"] == f"{reg.public_url}/oauth2/register/{cid}"
    assert client["scope"] == DEFAULT_SCOPE  # oidc.dynamic_client_registration.default_scope
    assert client["metadata"] == {} and client["skip_consent"] is False
    secret, token = client["client_secret"], client["registration_access_token"]

    # The stored client is what the admin API shows; the registration token is not stored.
    stored = (await adm.get(f"/admin/clients/{cid}")).json()
    assert stored["client_name"] == name and "registration_access_token" not in stored

    issued = await client_credentials(pub, cid, secret, "api")
    assert issued.status_code == 200, issued.text
    access_token = issued.json()["access_token"]

    read = await pub.get(f"{REGISTER}/{cid}", headers=bearer(token))
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["client_id"] == cid and body["client_name"] == name and body["contacts"] == ["a@b.example"]
    for hidden in ("client_secret", "metadata", "registration_access_token"):
        assert hidden not in body, hidden
    assert body["registration_client_uri"] == client["registration_client_uri"]
    # fosite's AccessTokenFromRequest: the access_token query parameter, and Hydra trims the ory_at_ prefix.
    assert (await pub.get(f"{REGISTER}/{cid}", params={"access_token": token})).status_code == 200
    assert (await pub.get(f"{REGISTER}/{cid}", headers=bearer(token.removeprefix("ory_at_")))).status_code == 200
    assert (await pub.get(f"{REGISTER}/{cid}", headers={"Authorization": f"bearer {token}"})).status_code == 200

    updated = await pub.put(f"{REGISTER}/{cid}", headers=bearer(token),
                            json={"client_id": "ignored", "client_name": name + "-2", "scope": "api",
                                  "grant_types": ["client_credentials"]})
    assert updated.status_code == 200, updated.text
    new = updated.json()
    assert new["client_id"] == cid and new["client_name"] == name + "-2" and new["scope"] == "api"
    assert new["contacts"] is None  # replaced, not merged: an unset array is null in the answer, as Hydra
    assert "client_secret" not in new
    new_token = new["registration_access_token"]
    assert new_token.startswith("ory_at_") and new_token != token
    assert new["registration_client_uri"] == client["registration_client_uri"]

    # The old token stops working everywhere; the new one works; the secret is unchanged.
    assert_unauthorized(await pub.get(f"{REGISTER}/{cid}", headers=bearer(token)))
    assert_unauthorized(await pub.put(f"{REGISTER}/{cid}", headers=bearer(token), json={"client_name": "x"}))
    assert_unauthorized(await pub.delete(f"{REGISTER}/{cid}", headers=bearer(token)))
    assert (await pub.get(f"{REGISTER}/{cid}", headers=bearer(new_token))).json()["client_name"] == name + "-2"
    assert (await client_credentials(pub, cid, secret, "api")).status_code == 200
    assert (await client_credentials(pub, cid, secret, "openid")).status_code == 400  # scope was replaced

    deleted = await pub.delete(f"{REGISTER}/{cid}", headers=bearer(new_token))
    assert deleted.status_code == 204 and deleted.content == b""
    assert_unauthorized(await pub.get(f"{REGISTER}/{cid}", headers=bearer(new_token)))
    assert (await adm.get(f"/admin/clients/{cid}")).status_code == 404
    assert (await client_credentials(pub, cid, secret, "api")).status_code == 401
    introspected = await adm.post("/admin/oauth2/introspect", data={"token": access_token})
    assert introspected.json() == {"active": False}


async def test_public_client_gets_no_secret(pub) -> None:
    client = await register(pub, token_endpoint_auth_method="none", grant_types=["authorization_code"],
                            response_types=["code"], redirect_uris=["https://app.example/cb"])
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "none"
    read = await pub.get(f"{REGISTER}/{client['client_id']}", headers=bearer(client["registration_access_token"]))
    assert read.status_code == 200 and read.json()["redirect_uris"] == ["https://app.example/cb"]


async def test_admin_created_client_manages_itself_with_its_token(pub, adm) -> None:
    """Hydra mints a registration token on every create, admin ones too; it opens the same endpoints."""
    created = await adm.post("/admin/clients", json={"client_name": unique("adm")})
    assert created.status_code == 201, created.text
    c = created.json()
    read = await pub.get(f"{REGISTER}/{c['client_id']}", headers=bearer(c["registration_access_token"]))
    assert read.status_code == 200 and read.json()["client_name"] == c["client_name"]


async def test_concurrent_updates_with_one_token_rotate_it_once(pub) -> None:
    client = await register(pub)
    cid, token = client["client_id"], client["registration_access_token"]
    answers = await asyncio.gather(*(pub.put(f"{REGISTER}/{cid}", headers=bearer(token),
                                             json={"client_name": f"racer-{i}"}) for i in range(6)))
    winners = [a for a in answers if a.status_code == 200]
    assert len(winners) == 1, [a.status_code for a in answers]
    for loser in answers:
        if loser.status_code != 200:
            assert_unauthorized(loser)
    won = winners[0].json()
    read = await pub.get(f"{REGISTER}/{cid}", headers=bearer(won["registration_access_token"]))
    assert read.status_code == 200 and read.json()["client_name"] == won["client_name"]


# --- bad input ---

PRIVILEGED = [
    ({"client_secret": "my-own-secret"}, MALFORMED, "It is not allowed to choose your own OAuth2 Client secret."),
    ({"metadata": {"role": "admin"}}, "invalid_client_metadata",
     METADATA_PREFIX + "'metadata' cannot be set for dynamic client registration"),
    ({"metadata": None}, "invalid_client_metadata",
     METADATA_PREFIX + "'metadata' cannot be set for dynamic client registration"),
    ({"access_token_strategy": "opaque"}, MALFORMED, "It is not allowed to choose your own access token strategy."),
    ({"skip_consent": True}, "invalid_request", "'skip_consent' cannot be set for dynamic client registration"),
    ({"skip_logout_consent": True}, "invalid_request",
     "'skip_logout_consent' cannot be set for dynamic client registration"),
    # hydralite only (SECURITY.md C7): Hydra lets a self-registered client choose its token lifespans
    ({"authorization_code_grant_access_token_lifespan": "87600h"}, "invalid_client_metadata",
     METADATA_PREFIX + "'authorization_code_grant_access_token_lifespan' cannot be set for dynamic client "
                       "registration"),
]


@pytest.mark.parametrize(("fields", "error", "description"), PRIVILEGED,
                         ids=["client_secret", "metadata", "metadata-null", "access_token_strategy", "skip_consent",
                              "skip_logout_consent", "lifespan"])
async def test_privileged_fields_are_refused(pub, adm, fields, error, description) -> None:
    name = unique("priv")
    response = await pub.post(REGISTER, json={"client_name": name, **fields})
    assert_error(response, 400, error, description)
    assert await named(adm, name) == []


async def test_privileged_fields_at_their_zero_value_are_accepted(pub) -> None:
    client = await register(pub, skip_consent=False, skip_logout_consent=False, access_token_strategy="",
                            client_secret="")
    assert client["skip_consent"] is False and client["skip_logout_consent"] is False


BAD_REDIRECTS = [
    ("https://app.example/cb#frag", "The value of one or more redirect_uris is invalid. Redirect URIs must not contain "
                                    "fragments (#)."),
    ("/relative/cb", "The value of one or more redirect_uris is invalid. Unable to parse redirect URL: /relative/cb"),
    ("javascript:alert(1)", "The value of one or more redirect_uris is invalid. Redirect URL javascript:alert(1) uses "
                            "a forbidden scheme."),
]


@pytest.mark.parametrize(("uri", "description"), BAD_REDIRECTS, ids=["fragment", "relative", "javascript"])
async def test_bad_redirect_uris_are_refused(pub, adm, uri, description) -> None:
    name = unique("redir")
    response = await pub.post(REGISTER, json={"client_name": name, "redirect_uris": [uri]})
    assert_error(response, 400, "invalid_redirect_uri", description)
    assert await named(adm, name) == []


async def test_large_bodies(pub, adm) -> None:
    name = unique("big")
    over = b'{"client_name": "' + name.encode() + b'", "client_uri": "' + b"a" * (1 << 20) + b'"}'
    response = await pub.post(REGISTER, content=over, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "invalid_request"  # SECURITY.md F3: 413 / invalid_request
    long_name = await pub.post(REGISTER, json={"client_name": "n" * 1_000_000})  # 1 MB, under the 1 MiB cap
    assert_error(long_name, 400, MALFORMED, "Field client_name is longer than 4096 characters.")
    many = await pub.post(REGISTER, json={"client_name": name, "contacts": ["c@example.org"] * 60_000})
    assert_error(many, 400, MALFORMED, "Field contacts has more than 1000 entries.")
    assert await named(adm, name) == []
    # On PUT too, and the refused request rotates nothing.
    client = await register(pub)
    cid, token = client["client_id"], client["registration_access_token"]
    response = await pub.put(f"{REGISTER}/{cid}", headers={**bearer(token), "Content-Type": "application/json"},
                             content=over)
    assert response.status_code == 413, response.text
    read = await pub.get(f"{REGISTER}/{cid}", headers=bearer(token))
    assert read.status_code == 200 and read.json()["client_name"] == client["client_name"]


@pytest.mark.parametrize("raw", [b'{"client_name": ', b"[]", b'{"client_name": 5}', b"", b'{"redirect_uris": "x"}'],
                         ids=["truncated", "array", "wrong-type", "empty", "string-for-array"])
async def test_malformed_json(pub, raw) -> None:
    response = await pub.post(REGISTER, content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, MALFORMED, prefix="Unable to decode the request body: ")
    client = await register(pub)
    cid, token = client["client_id"], client["registration_access_token"]
    put = await pub.put(f"{REGISTER}/{cid}", headers={**bearer(token), "Content-Type": "application/json"},
                        content=raw)
    assert_error(put, 400, MALFORMED, "Unable to decode the request body. Is it valid JSON?")
    assert (await pub.get(f"{REGISTER}/{cid}", headers=bearer(token))).status_code == 200  # not rotated


async def test_wrong_missing_and_foreign_tokens(reg, pub, adm) -> None:
    mine, theirs = await register(pub), await register(pub)
    cid, token = mine["client_id"], mine["registration_access_token"]
    other_token = theirs["registration_access_token"]
    forged = "ory_at_" + "A" * 43 + "." + "B" * 43
    cases: list[dict[str, str]] = [
        {},  # no token
        {"Authorization": "Bearer"},
        bearer(forged),
        bearer(token + "x"),
        bearer(other_token),  # a valid token, of another client
        {"Authorization": f"Basic {token}"},
        bearer(mine["client_secret"]),
    ]
    for headers in cases:
        for method in ("GET", "PUT", "DELETE"):
            response = await pub.request(method, f"{REGISTER}/{cid}", headers=headers,
                                         json={"client_name": "hijacked"} if method == "PUT" else None)
            assert_unauthorized(response)
    missing = await pub.get(f"{REGISTER}/{cid}")
    assert missing.headers["www-authenticate"] == "Bearer"
    # An unknown id answers the same 401 as a wrong token (nothing tells the two apart).
    assert_unauthorized(await pub.get(f"{REGISTER}/{uuid.uuid4()}", headers=bearer(token)))
    assert_unauthorized(await pub.get(f"{REGISTER}/{'x' * 300}", headers=bearer(token)))
    # Nothing changed: both clients are intact and their own tokens still work.
    assert (await adm.get(f"/admin/clients/{cid}")).json()["client_name"] == mine["client_name"]
    for c in (mine, theirs):
        read = await pub.get(f"{REGISTER}/{c['client_id']}", headers=bearer(c["registration_access_token"]))
        assert read.status_code == 200 and read.json()["client_name"] == c["client_name"]


async def test_put_refuses_privileged_fields_without_rotating(pub) -> None:
    client = await register(pub)
    cid, token = client["client_id"], client["registration_access_token"]
    rows = [
        ({"client_secret": "choose-my-own"}, 403, "The requested action was forbidden",
         "It is not allowed to choose your own OAuth2 Client secret."),
        ({"metadata": {}}, 400, "invalid_client_metadata",
         METADATA_PREFIX + "'metadata' cannot be set for dynamic client registration"),
        ({"access_token_strategy": "jwt"}, 400, MALFORMED, "It is not allowed to choose your own access token "
                                                           "strategy."),
        ({"skip_consent": True}, 400, "invalid_request", "'skip_consent' cannot be set for dynamic client "
                                                         "registration"),
        ({"redirect_uris": ["https://x.example/#f"]}, 400, "invalid_redirect_uri",
         "The value of one or more redirect_uris is invalid. Redirect URIs must not contain fragments (#)."),
    ]
    for fields, status, error, description in rows:
        response = await pub.put(f"{REGISTER}/{cid}", headers=bearer(token), json={"client_name": "changed", **fields})
        assert_error(response, status, error, description)
    read = await pub.get(f"{REGISTER}/{cid}", headers=bearer(token))
    assert read.status_code == 200 and read.json()["client_name"] == client["client_name"]


async def test_unknown_routes_and_methods(pub) -> None:
    assert (await pub.get(REGISTER)).status_code == 405
    assert (await pub.patch(f"{REGISTER}/{uuid.uuid4()}", json=[])).status_code == 405
