"""Pairwise subject identifiers (OIDC Core §8) as Hydra computes them (consent/subject_identifier_pairwise.go):
a pairwise client sees hex SHA-256(sector ‖ subject ‖ salt) as `sub` in the ID token and userinfo (and as
`obfuscated_subject` beside the real `sub` in introspection), stable across sign-ins and different between
sectors; public clients see the real subject; `sector_identifier_uri` is fetched and checked when a client is
created or updated (client/validator.go ValidateSectorIdentifierURL)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import Server, basic, run_server
from tests.e2e.browser import Browser, query
from tests.e2e.receiver import Receiver

SALT = "pairwise-test-salt-0123"
ONE = "http://127.0.0.1:5571/callback"
TWO = "http://127.0.0.1:5572/callback"
METADATA_INVALID = ("The value of one of the Client Metadata fields is invalid and the server has rejected this "
                    "request. Note that an Authorization Server MAY choose to substitute a valid value for any "
                    "requested parameter of a Client's Metadata.")


@pytest.fixture(scope="module")
async def server(postgres, template_db) -> AsyncIterator[Server]:
    """This module's server: both subject types enabled, with a salt."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="public,pairwise",
                    OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT=SALT) as srv:
        yield srv


@pytest.fixture(scope="module")
async def sectors() -> AsyncIterator[Receiver]:
    rx = await Receiver().start()
    yield rx
    await rx.stop()


def sector_document(rx: Receiver, body: object, status: int = 200, kind: str = "application/json") -> str:
    path = f"/sector/{uuid.uuid4().hex[:8]}.json"
    rx.routes[path] = (status, kind, body if isinstance(body, bytes) else orjson.dumps(body))
    return rx.base + path


def expected(sector: str, subject: str) -> str:
    return hashlib.sha256(f"{sector}{subject}{SALT}".encode()).hexdigest()


async def _client(make_client, redirect_uris: list[str], **fields) -> dict:
    return await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                             scope="openid offline_access", redirect_uris=redirect_uris, **fields)


async def _sign_in(browser: Browser, public: httpx.AsyncClient, client: dict, redirect: str, subject: str,
                   **extra: str) -> dict:
    """One sign-in; returns the token response with the decoded ID token claims under `claims`."""
    first = await browser.start(browser.auth_url(client, redirect, "openid offline_access",
                                                 nonce=uuid.uuid4().hex, **extra))
    if "login_challenge" in first.headers["location"]:
        first = await browser.login(first, subject=subject, remember=True)
    back = await browser.consent(first)
    assert back.status_code == 303, back.text
    code = query(back.headers["location"])["code"]
    tokens = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": redirect},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert tokens.status_code == 200, tokens.text
    out = tokens.json()
    keys = KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())
    out["claims"] = jwt.decode(out["id_token"], keys).claims
    return out


async def _seen_everywhere(public: httpx.AsyncClient, admin: httpx.AsyncClient, tokens: dict) -> tuple[str, dict]:
    """The subject of the ID token, which userinfo must repeat; and the introspection answer."""
    info = await public.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == tokens["claims"]["sub"]
    seen = await admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})
    return tokens["claims"]["sub"], seen.json()


async def test_discovery_lists_both_subject_types(public):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    assert doc["subject_types_supported"] == ["public", "pairwise"]


async def test_pairwise_subjects_differ_between_sectors_and_stay_stable(server, public, admin, make_client):
    subject = f"user-{uuid.uuid4().hex[:8]}"
    one = await _client(make_client, [ONE], subject_type="pairwise")
    two = await _client(make_client, [TWO], subject_type="pairwise")
    plain = await _client(make_client, [ONE])
    assert one["subject_type"] == "pairwise" and plain["subject_type"] == "public"

    seen: dict[str, list[str]] = {"one": [], "two": [], "plain": []}
    for _ in range(2):  # two separate sign-ins (two browsers, two login sessions)
        browser = Browser(server.public_url, admin)
        try:
            for name, client, redirect in (("one", one, ONE), ("two", two, TWO), ("plain", plain, ONE)):
                tokens = await _sign_in(browser, public, client, redirect, subject)
                sub, introspected = await _seen_everywhere(public, admin, tokens)
                assert introspected["active"] is True and introspected["sub"] == subject  # Hydra: the real one
                if name == "plain":
                    assert "obfuscated_subject" not in introspected
                else:
                    assert introspected["obfuscated_subject"] == sub
                seen[name].append(sub)
                if name == "one":  # a refreshed ID token keeps the client's subject
                    refreshed = await public.post(
                        "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                        headers=basic(one["client_id"], one["client_secret"]))
                    claims = jwt.decode(refreshed.json()["id_token"], KeySet.import_key_set(
                        (await public.get("/.well-known/jwks.json")).json())).claims
                    assert claims["sub"] == sub
        finally:
            await browser.close()
    assert seen["one"] == [expected("127.0.0.1:5571", subject)] * 2  # the redirect URI's host (with port)
    assert seen["two"] == [expected("127.0.0.1:5572", subject)] * 2
    assert seen["plain"] == [subject] * 2
    assert seen["one"][0] != seen["two"][0]


async def test_a_pairwise_id_token_hint_matches_the_session(browser, public, make_client):
    subject = f"user-{uuid.uuid4().hex[:8]}"
    client = await _client(make_client, [ONE], subject_type="pairwise")
    first = await _sign_in(browser, public, client, ONE, subject)
    again = await browser.start(browser.auth_url(client, ONE, "openid", prompt="none", nonce="n-0123456789",
                                                 id_token_hint=first["id_token"]))
    location = again.headers["location"]
    assert "login_challenge" in location and "error" not in location  # skipped login, not login_required
    request = await browser.admin.get("/admin/oauth2/auth/requests/login",
                                      params={"login_challenge": query(location)["login_challenge"]})
    assert request.json()["skip"] is True and request.json()["subject"] == subject

    # RP-initiated logout with the same hint: the logout request names the real subject, as Hydra's does.
    start = await browser.get(f"{browser.public_url}/oauth2/sessions/logout?id_token_hint={first['id_token']}")
    logout = await browser.admin.get("/admin/oauth2/auth/requests/logout",
                                     params={"logout_challenge": query(start.headers["location"])["logout_challenge"]})
    assert logout.json()["subject"] == subject


async def test_sector_identifier_uri_is_the_sector(browser, public, admin, make_client, sectors):
    subject = f"user-{uuid.uuid4().hex[:8]}"
    location = sector_document(sectors, [ONE, TWO, "https://other.example/cb"])
    client = await _client(make_client, [ONE, TWO], subject_type="pairwise", sector_identifier_uri=location)
    assert client["sector_identifier_uri"] == location
    assert sectors.at(location.removeprefix(sectors.base))[0].method == "GET"
    tokens = await _sign_in(browser, public, client, TWO, subject)
    sub, _ = await _seen_everywhere(public, admin, tokens)
    assert sub == expected(location, subject)  # Hydra hashes the whole sector_identifier_uri


@pytest.mark.parametrize("body", [
    pytest.param([ONE], id="misses-a-redirect-uri"),
    pytest.param([], id="empty-array"),
    pytest.param({"redirect_uris": [ONE, TWO]}, id="not-an-array"),
    pytest.param(b"<html>not json</html>", id="not-json"),
    pytest.param([ONE, 2], id="not-strings"),
])
async def test_bad_sector_documents_are_refused(admin, sectors, body):
    location = sector_document(sectors, body)
    response = await admin.post("/admin/clients", json={
        "redirect_uris": [ONE, TWO], "subject_type": "pairwise", "sector_identifier_uri": location})
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "invalid_client_metadata", "error_description": METADATA_INVALID}


async def test_unreachable_or_failing_sector_uris_are_refused(admin, sectors):
    with_status = sector_document(sectors, [ONE], status=404)
    closed = f"http://127.0.0.1:{_closed_port()}/sector.json"
    for location in (with_status, closed, "ftp://127.0.0.1/sector.json"):
        response = await admin.post("/admin/clients", json={"redirect_uris": [ONE], "sector_identifier_uri": location})
        assert response.status_code == 400, (location, response.text)
        assert response.json()["error"] == "invalid_client_metadata"


async def test_updating_a_client_checks_the_sector_again(admin, make_client, sectors):
    location = sector_document(sectors, [ONE])
    client = await _client(make_client, [ONE], subject_type="pairwise", sector_identifier_uri=location)
    path = f"/admin/clients/{client['client_id']}"
    widened = await admin.patch(path, json=[{"op": "add", "path": "/redirect_uris/-", "value": TWO}])
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_client_metadata"
    replaced = await admin.put(path, json={**client, "redirect_uris": [ONE, TWO],
                                           "sector_identifier_uri": sector_document(sectors, [ONE, TWO])})
    assert replaced.status_code == 200, replaced.text


async def test_pairwise_client_with_two_hosts_and_no_sector_fails_at_authorization(browser, make_client):
    client = await _client(make_client, [ONE, TWO], subject_type="pairwise")  # accepted, as Hydra accepts it
    first = await browser.start(browser.auth_url(client, ONE, "openid", nonce="n-0123456789"))
    back = await browser.consent(await browser.login(first, subject="someone"))
    assert back.status_code == 303
    params = query(back.headers["location"])
    assert back.headers["location"].startswith(ONE) and params["error"] == "invalid_request"
    assert "multiple redirect_uris but no sector_identifier_uri" in params["error_description"]


async def test_unknown_subject_type_is_refused(admin):
    response = await admin.post("/admin/clients", json={"subject_type": "secret"})
    assert response.status_code == 400
    assert response.json()["error_description"] == (
        f"{METADATA_INVALID} Subject type secret is not supported by server, only [public pairwise] are allowed.")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
