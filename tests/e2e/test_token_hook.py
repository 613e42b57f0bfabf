"""The token hook (oauth2.token_hook with api_key auth, and the legacy oauth2.refresh_token_hook) over real sockets:
a hook service on 127.0.0.1 adds claims that show up in the ID token and introspection; 204 changes nothing; a
hook that answers garbage, 10 MB, an error or never makes the token request fail with Hydra's error, and nothing
is issued (the code stays unspent, no token row is written)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Server, basic, free_port, run_server
from tests.e2e.browser import Browser, pkce_pair, query

REDIRECT = "http://127.0.0.1:5555/callback"
EXECUTING = "An error occurred while executing the token hook."
RESPONDED = "The token hook target responded with an error."
CLAIMS = {"session": {"access_token": {"hooked": "yes", "plan": "gold"}, "id_token": {"hooked_id": "yes"}}}


class Hook:
    """What the hook service answers per path, and every request it received."""

    def __init__(self) -> None:
        self.modes: dict[str, str] = {"/hook": "claims", "/legacy": "nocontent"}
        self.received: list[dict[str, Any]] = []

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length))
        self.received.append({"path": handler.path, "headers": dict(handler.headers), "body": body})
        mode = self.modes.get(handler.path, "nocontent")
        status, payload = {
            "claims": (200, json.dumps(CLAIMS).encode()),
            "legacy": (200, json.dumps({"session": {"access_token": {"legacy": "yes"}}}).encode()),
            "nocontent": (204, b""),
            "garbage": (200, b"<html>not json"),
            "wrongtype": (200, b'{"session": {"access_token": "a string"}}'),
            "huge": (200, b'{"session": {"access_token": {"x": "' + b"a" * (10 << 20) + b'"}}}'),
            "error": (500, b"{}"),
            "badrequest": (400, b"{}"),
            "forbidden": (403, b"{}"),
        }.get(mode, (204, b""))
        if mode == "slow":
            time.sleep(5)  # longer than HYDRALITE_TOKEN_HOOK_TIMEOUT (1s)
            status, payload = 204, b""
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # hydralite gave up (timeout or size limit) and closed the connection

    def last(self, path: str = "/hook") -> dict[str, Any]:
        return [r for r in self.received if r["path"] == path][-1]


@pytest.fixture(scope="module")
def hook() -> Iterator[tuple[Hook, int]]:
    state = Hook()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            state.answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
async def hook_server(postgres, template_db, hook) -> AsyncIterator[Server]:
    """The token hook as Hydra's object (api_key in a header), the legacy hook in the flattened spelling."""
    _, port = hook
    token_hook = {"url": f"http://127.0.0.1:{port}/hook",
                  "auth": {"type": "api_key", "config": {"in": "header", "name": "X-Hook-Key", "value": "s3cret"}}}
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OAUTH2_TOKEN_HOOK=json.dumps(token_hook),
                    OAUTH2_REFRESH_TOKEN_HOOK_URL=f"http://127.0.0.1:{port}/legacy",
                    HYDRALITE_TOKEN_HOOK_TIMEOUT="1s") as srv:
        yield srv


@pytest.fixture
async def hadmin(hook_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hook_server.admin_url, timeout=30) as client:
        yield client


@pytest.fixture
async def hpublic(hook_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hook_server.public_url, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def reset_modes(hook) -> None:
    hook[0].modes.update({"/hook": "claims", "/legacy": "nocontent"})


async def new_client(admin: httpx.AsyncClient, **fields: Any) -> dict:
    fields.setdefault("client_secret", "a-good-secret-0123456789")
    fields.setdefault("grant_types", ["client_credentials"])
    fields.setdefault("scope", "api openid offline_access")
    r = await admin.post("/admin/clients", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


async def introspect(admin: httpx.AsyncClient, token: str) -> dict:
    r = await admin.post("/admin/oauth2/introspect", data={"token": token})
    assert r.status_code == 200, r.text
    return r.json()


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def token_rows(server: Server, client_id: str) -> int:
    conn = await asyncpg.connect(server.dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM hydralite_access_token WHERE client_id = $1", client_id)
    finally:
        await conn.close()


async def code_for(server: Server, admin: httpx.AsyncClient, client: dict) -> tuple[str, str]:
    browser = Browser(server.public_url, admin)
    try:
        verifier, challenge = pkce_pair()
        first = await browser.start(browser.auth_url(client, REDIRECT, "openid offline_access api",
                                                     code_challenge=challenge, code_challenge_method="S256",
                                                     nonce="n-0123456789"))
        third = await browser.consent(await browser.login(first),
                                      session={"access_token": {"from_consent": 1}, "id_token": {"name": "Foo"}})
        assert third.status_code == 303, third.text
        return query(third.headers["location"])["code"], verifier
    finally:
        await browser.close()


def code_form(code: str, verifier: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}


async def browser_client(admin: httpx.AsyncClient) -> dict:
    return await new_client(admin, grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                            redirect_uris=[REDIRECT])


async def test_code_flow_hook_claims_reach_the_id_token_and_introspection(hook_server, hook, hadmin, hpublic):
    state, _ = hook
    client = await browser_client(hadmin)
    code, verifier = await code_for(hook_server, hadmin, client)
    r = await hpublic.post("/oauth2/token", data=code_form(code, verifier),
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    tokens = r.json()
    id_claims = claims_of(tokens["id_token"])
    # Hydra overwrites the extra claims with the hook's: the consent's name is gone, the standard claims stay.
    assert id_claims["hooked_id"] == "yes" and "name" not in id_claims
    assert id_claims["sub"] == "foo@bar.com" and id_claims["nonce"] == "n-0123456789" and id_claims["sid"]
    info = await introspect(hadmin, tokens["access_token"])
    assert info["active"] is True and info["ext"] == {"hooked": "yes", "plan": "gold"}

    sent = state.last()
    assert sent["headers"]["X-Hook-Key"] == "s3cret"
    assert sent["headers"]["Content-Type"] == "application/json; charset=UTF-8"
    request, session = sent["body"]["request"], sent["body"]["session"]
    assert request["client_id"] == client["client_id"] and request["grant_types"] == ["authorization_code"]
    assert sorted(request["granted_scopes"]) == ["api", "offline_access", "openid"]
    assert request["granted_audience"] == []
    assert request["payload"] == {"grant_type": ["authorization_code"]}  # fosite's sanitized form: no code
    assert session["extra"] == {"from_consent": 1} and session["client_id"] == client["client_id"]
    assert session["id_token"]["subject"] == "foo@bar.com"
    id_token_claims = session["id_token"]["id_token_claims"]
    assert id_token_claims["ext"]["name"] == "Foo" and id_token_claims["ext"]["sid"]
    assert id_token_claims["aud"] == [client["client_id"]] and id_token_claims["nonce"] == "n-0123456789"

    # The hooked claims are kept on the refresh token: a refresh (the hook answering 204) keeps them.
    state.modes["/hook"] = "nocontent"
    r = await hpublic.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": tokens["refresh_token"]},
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    assert (await introspect(hadmin, r.json()["access_token"]))["ext"] == {"hooked": "yes", "plan": "gold"}
    assert claims_of(r.json()["id_token"])["hooked_id"] == "yes"


async def test_legacy_refresh_hook_runs_before_the_token_hook_on_refresh_only(hook_server, hook, hadmin, hpublic):
    state, _ = hook
    client = await browser_client(hadmin)
    code, verifier = await code_for(hook_server, hadmin, client)
    auth = basic(client["client_id"], client["client_secret"])
    state.modes["/hook"] = "nocontent"
    before = len([r for r in state.received if r["path"] == "/legacy"])
    r = await hpublic.post("/oauth2/token", data=code_form(code, verifier), headers=auth)
    assert r.status_code == 200, r.text
    assert len([r for r in state.received if r["path"] == "/legacy"]) == before  # not on the code exchange
    assert (await introspect(hadmin, r.json()["access_token"]))["ext"] == {"from_consent": 1}

    state.modes["/legacy"] = "legacy"
    r = await hpublic.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                  "refresh_token": r.json()["refresh_token"]}, headers=auth)
    assert r.status_code == 200, r.text
    assert (await introspect(hadmin, r.json()["access_token"]))["ext"] == {"legacy": "yes"}
    legacy = state.last("/legacy")["body"]
    assert legacy["subject"] == "foo@bar.com" and legacy["client_id"] == client["client_id"]
    assert legacy["requester"]["grant_types"] == ["refresh_token"]
    assert "X-Hook-Key" not in state.last("/legacy")["headers"]  # that hook has no auth configured
    # The token hook ran after it and saw the session the legacy hook produced.
    assert state.last()["body"]["session"]["extra"] == {"legacy": "yes"}


async def test_client_credentials_hook_claims_show_in_introspection(hook_server, hook, hadmin, hpublic):
    state, _ = hook
    client = await new_client(hadmin)
    r = await hpublic.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "api"},
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    info = await introspect(hadmin, r.json()["access_token"])
    assert info["ext"] == {"hooked": "yes", "plan": "gold"} and info["sub"] == client["client_id"]
    body = state.last()["body"]
    assert body["request"]["grant_types"] == ["client_credentials"] and body["request"]["granted_scopes"] == ["api"]
    assert body["request"]["payload"] == {"grant_type": ["client_credentials"], "scope": ["api"]}
    assert body["session"]["id_token"]["subject"] == client["client_id"]


async def test_204_changes_nothing(hook_server, hook, hadmin, hpublic):
    hook[0].modes["/hook"] = "nocontent"
    client = await new_client(hadmin)
    r = await hpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    info = await introspect(hadmin, r.json()["access_token"])
    assert info["active"] is True and "ext" not in info


FAILURES = [
    ("garbage", 500, "server_error", RESPONDED),
    ("wrongtype", 500, "server_error", RESPONDED),
    ("huge", 500, "server_error", RESPONDED),
    ("slow", 500, "server_error", EXECUTING),
    ("error", 500, "server_error", EXECUTING),
    ("badrequest", 500, "server_error", RESPONDED),
    ("forbidden", 403, "access_denied", RESPONDED),
]


@pytest.mark.parametrize(("mode", "status", "error", "description"), FAILURES)
async def test_a_failing_hook_blocks_client_credentials(hook_server, hook, hadmin, hpublic, mode, status, error,
                                                        description):
    hook[0].modes["/hook"] = mode
    client = await new_client(hadmin)
    r = await hpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                           headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == status, r.text
    assert r.json() == {"error": error, "error_description": description}
    assert await token_rows(hook_server, client["client_id"]) == 0


@pytest.mark.parametrize(("mode", "status", "error", "description"), [FAILURES[0], FAILURES[2], FAILURES[3]])
async def test_a_failing_hook_blocks_the_code_exchange_and_leaves_the_code_unspent(
        hook_server, hook, hadmin, hpublic, mode, status, error, description):
    client = await browser_client(hadmin)
    code, verifier = await code_for(hook_server, hadmin, client)
    auth = basic(client["client_id"], client["client_secret"])
    hook[0].modes["/hook"] = mode
    r = await hpublic.post("/oauth2/token", data=code_form(code, verifier), headers=auth)
    assert r.status_code == status and r.json() == {"error": error, "error_description": description}, r.text
    assert await token_rows(hook_server, client["client_id"]) == 0
    # As in Hydra the hook runs before the code is spent: once the hook is happy, the same code works.
    hook[0].modes["/hook"] = "nocontent"
    r = await hpublic.post("/oauth2/token", data=code_form(code, verifier), headers=auth)
    assert r.status_code == 200, r.text
    assert await token_rows(hook_server, client["client_id"]) == 1


@pytest.mark.parametrize("mode", ["error", "forbidden", "slow"])
async def test_a_failing_hook_is_called_once_for_a_remembered_client(hook_server, hook, hadmin, hpublic, mode):
    """A client whose secret was verified before is remembered; the hook's refusal must not make the token
    endpoint decide afresh and call the hook again (which also doubled the time a hanging hook holds the call)."""
    state, _ = hook
    client = await new_client(hadmin)
    auth = basic(client["client_id"], client["client_secret"])
    r = await hpublic.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth)
    assert r.status_code == 200, r.text
    state.modes["/hook"] = mode
    before = len([x for x in state.received if x["path"] == "/hook"])
    r = await hpublic.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth)
    assert r.status_code in (403, 500), r.text
    assert len([x for x in state.received if x["path"] == "/hook"]) - before == 1
    assert await token_rows(hook_server, client["client_id"]) == 1
