"""The token hook (oauth2.token_hook) on the two grants test_token_hook.py leaves out: the device_code grant
(RFC 8628) and the jwt-bearer grant (RFC 7523), over real sockets.

For each: the hook gets Hydra's `{session, request}` with the grant type and fosite's sanitized form (grant_type,
scope, client_id and, for jwt-bearer, the assertion; never the device code or the client secret); the claims it
answers end up in the tokens; and a hook that refuses makes the token request fail with Hydra's error while nothing
is issued. What is spent before the hook runs follows Hydra: the device code is spent only after it (a refused poll
can be repeated), the assertion's jti before it (fosite marks it used inside NewAccessRequest).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Postgres, Server, basic, run_server
from tests.e2e import test_token_hook
from tests.e2e.browser import Browser
from tests.e2e.test_device_flow import GRANT as DEVICE_GRANT
from tests.e2e.test_device_flow import UI, codes, enter, poll
from tests.e2e.test_jwt_bearer import GRANT as JWT_GRANT
from tests.e2e.test_jwt_bearer import TRUST, Issuer, exchange
from tests.e2e.test_token_hook import CLAIMS, EXECUTING, RESPONDED, Hook, claims_of, introspect, new_client, token_rows

# test_token_hook.py's hook service (a module-scoped receiver on 127.0.0.1) and its per-test mode reset, registered
# as fixtures of this module too.
hook = test_token_hook.hook
reset_modes = test_token_hook.reset_modes
HookService = tuple[Hook, int]  # what the hook fixture yields: the receiver's state and its port

HOOKED = CLAIMS["session"]["access_token"]
CONSENT = {"access_token": {"from_consent": 1}, "id_token": {"name": "Foo"}}
REFUSALS = [
    ("forbidden", 403, "access_denied", RESPONDED),
    ("error", 500, "server_error", EXECUTING),
    ("badrequest", 500, "server_error", RESPONDED),
    ("garbage", 500, "server_error", RESPONDED),
]


@pytest.fixture(scope="module")
async def grant_server(postgres: Postgres, template_db: str, hook: HookService) -> AsyncIterator[Server]:
    """The token hook as in test_token_hook.py (api_key in a header) with the device pages of
    test_device_flow.py (nobody serves them; the tests answer through the admin API) and a 1s polling interval."""
    _, port = hook
    token_hook = {"url": f"http://127.0.0.1:{port}/hook",
                  "auth": {"type": "api_key", "config": {"in": "header", "name": "X-Hook-Key", "value": "s3cret"}}}
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OAUTH2_TOKEN_HOOK=json.dumps(token_hook), HYDRALITE_TOKEN_HOOK_TIMEOUT="1s",
                    OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL="1s",
                    URLS_DEVICE_VERIFICATION=f"{UI}/device", URLS_DEVICE_SUCCESS=f"{UI}/device/done") as srv:
        yield srv


@pytest.fixture
async def gadmin(grant_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=grant_server.admin_url, timeout=30) as client:
        yield client


@pytest.fixture
async def gpublic(grant_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=grant_server.public_url, timeout=30) as client:
        yield client


@pytest.fixture
async def gbrowser(grant_server: Server, gadmin: httpx.AsyncClient) -> AsyncIterator[Browser]:
    b = Browser(grant_server.public_url, gadmin)
    yield b
    await b.close()


def hook_calls(state: Hook) -> int:
    return len([r for r in state.received if r["path"] == "/hook"])


def assert_called_once_unless_retried(state: Hook, before: int, mode: str) -> None:
    """The hook was called for the request: once, except that on a 5xx Hydra's HTTP client retries (twice more)
    where hydralite does not, so there only "called" is Hydra's behaviour."""
    calls = hook_calls(state) - before
    assert calls >= 1 if mode == "error" else calls == 1, calls


# --- device_code -------------------------------------------------------------------------------------------------

async def device_client(admin: httpx.AsyncClient) -> dict[str, Any]:
    """A client polling with client_secret_post, so the form carries client_id (and the secret, which the hook
    must not see)."""
    return await new_client(admin, grant_types=[DEVICE_GRANT, "refresh_token"], scope="openid offline_access",
                            token_endpoint_auth_method="client_secret_post")


async def approved_device(public: httpx.AsyncClient, admin: httpx.AsyncClient, browser: Browser,
                          client: dict[str, Any]) -> dict[str, Any]:
    """Device codes whose user code the browser entered, signed in for and consented to with CONSENT's session
    (test_device_flow's approve, with a consent session)."""
    device = await codes(public, client, scope="openid offline_access")
    accepted = await enter(browser, admin, device["user_code"])
    assert accepted.status_code == 200, accepted.text
    to_login = await browser.get(accepted.json()["redirect_to"])
    assert to_login.status_code == 302, to_login.text
    to_consent = await browser.login(to_login)
    assert to_consent.status_code == 302, to_consent.text
    done = await browser.consent(to_consent, session=CONSENT)
    assert done.status_code == 302 and done.headers["location"].startswith(f"{UI}/device/done"), done.text
    return device


async def test_device_code_hook_gets_the_consented_session_and_its_claims_reach_the_tokens(
        grant_server: Server, hook: HookService, gadmin: httpx.AsyncClient, gpublic: httpx.AsyncClient,
        gbrowser: Browser) -> None:
    state, _ = hook
    client = await device_client(gadmin)
    device = await approved_device(gpublic, gadmin, gbrowser, client)
    before = hook_calls(state)
    r = await poll(gpublic, client, device["device_code"])
    assert r.status_code == 200, r.text
    assert hook_calls(state) == before + 1
    tokens = r.json()

    sent = state.last()
    assert sent["headers"]["X-Hook-Key"] == "s3cret"
    assert sent["headers"]["Content-Type"] == "application/json; charset=UTF-8"
    request, session = sent["body"]["request"], sent["body"]["session"]
    assert request["client_id"] == client["client_id"] and request["grant_types"] == [DEVICE_GRANT]
    # fosite's Sanitize(["assertion"]) keeps grant_type, response_type, scope, client_id: no device_code and no
    # client_secret reach the hook.
    assert request["payload"] == {"grant_type": [DEVICE_GRANT], "client_id": [client["client_id"]]}
    # fosite's device handler sets the requested scopes from the device request before the hook runs.
    assert sorted(request["requested_scopes"]) == ["offline_access", "openid"]
    # Not asserted: granted_scopes/granted_audience. fosite grants them only in PopulateTokenEndpointResponse,
    # after Hydra's hooks, so Hydra sends [] for both; hydralite sends the consented ones (see the report).
    assert session["client_id"] == client["client_id"] and session["extra"] == CONSENT["access_token"]
    assert session["id_token"]["subject"] == "foo@bar.com"
    id_token_claims = session["id_token"]["id_token_claims"]
    assert id_token_claims["sub"] == "foo@bar.com" and id_token_claims["aud"] == [client["client_id"]]
    assert id_token_claims["ext"]["name"] == "Foo" and id_token_claims["ext"]["sid"]
    assert id_token_claims["iss"].rstrip("/") == grant_server.public_url

    # The hook's claims replace the consent's: in introspection's ext and among the ID token's extra claims.
    info = await introspect(gadmin, tokens["access_token"])
    assert info["active"] is True and info["sub"] == "foo@bar.com" and info["ext"] == HOOKED
    id_claims = claims_of(tokens["id_token"])
    assert id_claims["hooked_id"] == "yes" and "name" not in id_claims and id_claims["sub"] == "foo@bar.com"

    # They are kept on the refresh token: a refresh whose hook answers 204 starts from them.
    state.modes["/hook"] = "nocontent"
    r = await gpublic.post("/oauth2/token", data={"grant_type": "refresh_token", "client_id": client["client_id"],
                                                  "client_secret": client["client_secret"],
                                                  "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    assert (await introspect(gadmin, r.json()["access_token"]))["ext"] == HOOKED
    assert state.last()["body"]["request"]["grant_types"] == ["refresh_token"]


@pytest.mark.parametrize(("mode", "status", "error", "description"), REFUSALS)
async def test_a_refusing_hook_fails_the_device_poll_and_leaves_the_device_code_unspent(
        grant_server: Server, hook: HookService, gadmin: httpx.AsyncClient, gpublic: httpx.AsyncClient,
        gbrowser: Browser, mode: str, status: int, error: str, description: str) -> None:
    state, _ = hook
    client = await device_client(gadmin)
    device = await approved_device(gpublic, gadmin, gbrowser, client)
    state.modes["/hook"] = mode
    before = hook_calls(state)
    r = await poll(gpublic, client, device["device_code"])
    assert r.status_code == status, r.text
    assert r.json() == {"error": error, "error_description": description}
    assert_called_once_unless_retried(state, before, mode)
    assert await token_rows(grant_server, client["client_id"]) == 0
    # Hydra runs its hooks between fosite's NewAccessRequest and NewAccessResponse, and only the latter
    # invalidates the device code: once the hook is happy, the same device code gives tokens.
    state.modes["/hook"] = "nocontent"
    await asyncio.sleep(1.1)  # the polling interval
    r = await poll(gpublic, client, device["device_code"])
    assert r.status_code == 200, r.text
    assert await token_rows(grant_server, client["client_id"]) == 1
    assert (await introspect(gadmin, r.json()["access_token"]))["ext"] == CONSENT["access_token"]  # 204: unchanged


# --- jwt-bearer --------------------------------------------------------------------------------------------------

API = "https://api.example.com"


async def jwt_setup(admin: httpx.AsyncClient, **fields: Any) -> tuple[Issuer, dict[str, Any]]:
    """A trusted issuer for subject alice (scopes api and read) and a client allowed the grant and an audience."""
    issuer = Issuer()
    created = await admin.post(TRUST, json=issuer.trust(subject="alice"))
    assert created.status_code == 201, created.text
    client = await new_client(admin, grant_types=[JWT_GRANT], scope="api", audience=[API], **fields)
    return issuer, client


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
async def test_jwt_bearer_hook_gets_the_assertion_and_its_claims_reach_introspection(
        grant_server: Server, hook: HookService, gadmin: httpx.AsyncClient, gpublic: httpx.AsyncClient,
        auth: str) -> None:
    state, _ = hook
    issuer, client = await jwt_setup(gadmin, token_endpoint_auth_method=auth)
    token_url = f"{grant_server.public_url}/oauth2/token"
    assertion = issuer.sign(token_url)
    form = {"grant_type": JWT_GRANT, "assertion": assertion, "scope": "api", "audience": API}
    if auth == "client_secret_basic":
        r = await gpublic.post("/oauth2/token", data=form, headers=basic(client["client_id"], client["client_secret"]))
    else:
        r = await gpublic.post("/oauth2/token", data={**form, "client_id": client["client_id"],
                                                      "client_secret": client["client_secret"]})
    assert r.status_code == 200, r.text
    info = await introspect(gadmin, r.json()["access_token"])
    assert info["active"] is True and info["ext"] == HOOKED
    assert info["sub"] == "alice" and info["client_id"] == client["client_id"] and info["aud"] == [API]

    sent = state.last()
    assert sent["headers"]["X-Hook-Key"] == "s3cret"
    request, session = sent["body"]["request"], sent["body"]["session"]
    assert request["client_id"] == client["client_id"] and request["grant_types"] == [JWT_GRANT]
    assert request["requested_scopes"] == ["api"] and request["granted_scopes"] == ["api"]
    # Hydra's token handler grants a requested audience the client may use; the assertion's own audience (the token
    # URL) is left out, omit_assertion_audience being true by default.
    assert request["granted_audience"] == [API]
    # Sanitize(["assertion"]): the assertion is passed on as Hydra's own test expects; audience and the client
    # secret are not, client_id only when the client sent it in the form.
    expected = {"grant_type": [JWT_GRANT], "assertion": [assertion], "scope": ["api"]}
    if auth == "client_secret_post":
        expected["client_id"] = [client["client_id"]]
    assert request["payload"] == expected
    # A fresh session (NewSessionWithCustomClaims) whose subject fosite set to the assertion's: no login, so no
    # ID-token subject, audience or extra claims, and no access-token extra yet.
    assert session["extra"] == {} and session["client_id"] == client["client_id"]
    assert session["id_token"]["subject"] == "alice"
    id_token_claims = session["id_token"]["id_token_claims"]
    assert id_token_claims["sub"] == "" and id_token_claims["aud"] is None and id_token_claims["ext"] is None
    assert id_token_claims["iss"].rstrip("/") == grant_server.public_url


async def test_jwt_bearer_hook_answering_204_leaves_the_token_without_ext(
        grant_server: Server, hook: HookService, gadmin: httpx.AsyncClient, gpublic: httpx.AsyncClient) -> None:
    state, _ = hook
    state.modes["/hook"] = "nocontent"
    issuer, client = await jwt_setup(gadmin)
    r = await exchange(gpublic, client, issuer.sign(f"{grant_server.public_url}/oauth2/token"))
    assert r.status_code == 200, r.text
    info = await introspect(gadmin, r.json()["access_token"])
    assert info["active"] is True and info["sub"] == "alice" and "ext" not in info
    assert state.last()["body"]["request"]["payload"]["grant_type"] == [JWT_GRANT]


@pytest.mark.parametrize(("mode", "status", "error", "description"), REFUSALS)
async def test_a_refusing_hook_fails_the_jwt_bearer_grant(
        grant_server: Server, hook: HookService, gadmin: httpx.AsyncClient, gpublic: httpx.AsyncClient, mode: str,
        status: int, error: str, description: str) -> None:
    state, _ = hook
    issuer, client = await jwt_setup(gadmin)
    token_url = f"{grant_server.public_url}/oauth2/token"
    assertion = issuer.sign(token_url)
    state.modes["/hook"] = mode
    before = hook_calls(state)
    r = await exchange(gpublic, client, assertion, scope="api")
    assert r.status_code == status, r.text
    assert r.json() == {"error": error, "error_description": description}
    assert_called_once_unless_retried(state, before, mode)
    assert await token_rows(grant_server, client["client_id"]) == 0
    # fosite marks the jti used inside NewAccessRequest, before Hydra's hooks run (and outside the transaction
    # of NewAccessResponse): the refused assertion cannot be replayed, a new one works once the hook is happy.
    state.modes["/hook"] = "nocontent"
    again = await exchange(gpublic, client, assertion, scope="api")
    assert again.status_code == 400 and again.json()["error"] == "jti_known", again.text
    fresh = await exchange(gpublic, client, issuer.sign(token_url), scope="api")
    assert fresh.status_code == 200, fresh.text
    assert await token_rows(grant_server, client["client_id"]) == 1
