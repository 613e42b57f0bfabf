"""Structured logs as Hydra's (logrusx/reqlog): JSON lines with the request id, and no secret in any line."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from tests.conftest import basic, run_server
from tests.e2e.browser import pkce_pair, query

REDIRECT = "http://127.0.0.1:5555/callback"
REDACTED = ('Value is sensitive and has been redacted. To see the value set config key '
            '"log.leak_sensitive_values = true" or environment variable "LOG_LEAK_SENSITIVE_VALUES=true".')


@pytest.fixture(scope="module")
async def server(postgres, template_db):
    """JSON logs at debug, the most talkative level, for the whole module."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, LOG_FORMAT="json", LOG_LEVEL="debug") as srv:
        yield srv


def records(srv) -> list[dict]:
    """Every line of the server's output; each must be one JSON object."""
    out = []
    for line in srv.log().splitlines():
        if line.strip():
            out.append(orjson.loads(line))
    return out


def request_line(srv, request_id: str) -> dict:
    """The 'completed handling request' line of a request (written just after its response is sent)."""
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in records(srv) if r.get("request_id") == request_id
                 and r["msg"] == "completed handling request"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) == 1, f"no request line for {request_id}"
    return found[0]


async def test_incoming_request_id_is_kept_echoed_and_logged(server):
    rid = "req-" + uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=30) as admin:
        reply = await admin.get("/admin/clients", params={"page_size": "5"}, headers={"X-Request-Id": rid})
    assert reply.status_code == 200 and reply.headers["x-request-id"] == rid
    line = request_line(server, rid)
    assert line["level"] == "info" and line["audience"] == "application" and line["service_name"]
    request, response = line["http_request"], line["http_response"]
    assert request["method"] == "GET" and request["path"] == "/admin/clients" and request["scheme"] == "http"
    assert request["query"] == REDACTED and request["host"] == urlsplit(server.admin_url).netloc
    assert request["headers"]["x-request-id"] == rid and request["remote"].startswith("127.0.0.1:")
    assert response["status"] == 200 and response["size"] == len(reply.content) and isinstance(response["took"], int)
    assert response["text_status"] == "OK" and "time" in line


async def test_request_id_generated_when_missing_and_errors_carry_details(server):
    async with httpx.AsyncClient(base_url=server.public_url, timeout=30) as public:
        reply = await public.post("/oauth2/token", data={"grant_type": "client_credentials"},
                                  headers=basic("no-such-client", "whatever-secret"))
        bad_id = await public.get("/health/alive", headers={"X-Request-Id": "bad id\twith spaces"})
    assert reply.status_code == 401
    rid = reply.headers["x-request-id"]
    assert uuid.UUID(rid)
    line = request_line(server, rid)
    assert line["http_response"]["status"] == 401 and line["error"]["message"] == "invalid_client"
    assert line["error"]["status_code"] == 401 and line["error"]["reason"]
    assert line["http_request"]["headers"]["authorization"] == REDACTED
    # An unusable incoming id is replaced; health checks are logged at debug only, not at info.
    assert bad_id.headers["x-request-id"] != "bad id\twith spaces"
    assert request_line(server, bad_id.headers["x-request-id"])["level"] == "debug"


async def sign_in_and_use_tokens(srv) -> tuple[list[str], list[str]]:
    """A whole browser sign-in (code + PKCE via the admin login/consent API), token exchange, refresh,
    userinfo, introspection and revocation. Returns (secret values used, values sent in query strings)."""
    secrets: list[str] = []
    queries: list[str] = []
    client_secret = "log-secret-" + uuid.uuid4().hex
    secrets.append(client_secret)
    async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin, \
            httpx.AsyncClient(timeout=30) as browser, \
            httpx.AsyncClient(base_url=srv.public_url, timeout=30) as public:
        created = await admin.post("/admin/clients", json={
            "client_secret": client_secret, "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "redirect_uris": [REDIRECT], "scope": "openid offline_access"})
        assert created.status_code == 201, created.text
        client_id = created.json()["client_id"]
        auth = basic(client_id, client_secret)
        secrets.append(auth["Authorization"].split(" ", 1)[1])
        verifier, challenge = pkce_pair()
        state, nonce = uuid.uuid4().hex, uuid.uuid4().hex
        secrets += [verifier, challenge, state, nonce]
        params = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT,
                  "scope": "openid offline_access", "state": state, "nonce": nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        first = await browser.get(srv.public_url + "/oauth2/auth", params=params)
        assert first.status_code in (302, 303), first.text
        queries.append(urlsplit(str(first.request.url)).query)
        login_challenge = query(first.headers["location"])["login_challenge"]
        answer = await admin.put("/admin/oauth2/auth/requests/login/accept",
                                 params={"login_challenge": login_challenge}, json={"subject": "foo@bar.com"})
        assert answer.status_code == 200, answer.text
        login_verifier = query(answer.json()["redirect_to"])["login_verifier"]
        second = await browser.get(answer.json()["redirect_to"])
        consent_challenge = query(second.headers["location"])["consent_challenge"]
        consent = await admin.get("/admin/oauth2/auth/requests/consent",
                                  params={"consent_challenge": consent_challenge})
        answer = await admin.put("/admin/oauth2/auth/requests/consent/accept",
                                 params={"consent_challenge": consent_challenge},
                                 json={"grant_scope": consent.json()["requested_scope"]})
        assert answer.status_code == 200, answer.text
        consent_verifier = query(answer.json()["redirect_to"])["consent_verifier"]
        third = await browser.get(answer.json()["redirect_to"])
        assert third.status_code == 303, third.text
        code = query(third.headers["location"])["code"]
        secrets += [login_challenge, login_verifier, consent_challenge, consent_verifier, code]
        secrets += [cookie.value for cookie in browser.cookies.jar]
        assert len(list(browser.cookies.jar)) >= 2  # CSRF cookies at least (and the session cookie)

        token = await public.post("/oauth2/token", headers=auth, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
        assert token.status_code == 200, token.text
        first_tokens = token.json()
        refreshed = await public.post("/oauth2/token", headers=auth, data={
            "grant_type": "refresh_token", "refresh_token": first_tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        tokens = refreshed.json()
        for bundle in (first_tokens, tokens):
            secrets += [bundle["access_token"], bundle["refresh_token"], bundle["id_token"]]
            secrets += [part for part in bundle["access_token"].split(".") + bundle["refresh_token"].split(".")]
            secrets.append(bundle["id_token"].rsplit(".", 1)[1])
        assert (await public.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})) \
            .status_code == 200
        userinfo = await public.get("/userinfo", params={"access_token": tokens["access_token"]})
        assert userinfo.status_code in (200, 401)
        introspected = await admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})
        assert introspected.json()["active"] is True
        revoked = await public.post("/oauth2/revoke", headers=auth, data={"token": tokens["refresh_token"]})
        assert revoked.status_code == 200
        reused = await public.post("/oauth2/token", headers=auth, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
        assert reused.status_code == 400  # a spent code: an error path with the code in the body
        queries.append(login_challenge)
    return [s for s in secrets if s], queries


async def test_no_secret_in_any_log_line_of_a_whole_sign_in(server):
    secrets, _ = await sign_in_and_use_tokens(server)
    time.sleep(0.5)  # the last request lines are written just after their responses
    log = server.log()
    lines = records(server)  # every line is JSON
    assert sum(1 for r in lines if r["msg"] == "completed handling request") >= 12
    assert any(r["level"] == "debug" for r in lines)
    leaked = [s for s in secrets if s in log]
    assert not leaked, f"{len(leaked)} secret value(s) appear in the log"


async def test_leak_sensitive_values_shows_the_query(postgres, template_db):
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, LOG_FORMAT="json", LOG_LEVEL="debug", LOG_LEAK_SENSITIVE_VALUES="true") as srv:
        _, queries = await sign_in_and_use_tokens(srv)
        time.sleep(0.5)
        logged = {r["http_request"]["query"] for r in records(srv) if "http_request" in r}
    login_challenge = queries[-1]
    assert any(login_challenge in q for q in logged if q)
    assert REDACTED not in logged
