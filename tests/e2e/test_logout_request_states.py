"""The admin logout-request API in every state, status and body key by key as Hydra v25/v26 answers
(consent/handler.go getOAuth2LogoutRequest, acceptOAuth2LogoutRequest, rejectOAuth2LogoutRequest over
persistence/sql/persister_consent.go GetLogoutRequest, AcceptLogoutRequest, RejectLogoutRequest and
VerifyAndInvalidateLogoutRequest of tag v25.4.0, unchanged in v26.2.0):

* GET reads the row `WHERE challenge = ? AND rejected = FALSE`: unknown or rejected → sqlcon.ErrNoRows (404);
  a request whose verifier was spent (`was_used`) → 410 `{redirect_to: request_url}`; accepted but unspent → 200.
* accept is `UPDATE … SET accepted=true, rejected=false` then that GET: the same verifier every time, a rejected
  request revived, an unknown one sqlcon.ErrNoRows.
* reject is `UPDATE … SET rejected=true, accepted=false` and x.ErrNotFound when no row matched: 204 for any known
  request, again too; a rejected request's verifier no longer works.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import Server, run_server
from tests.e2e.browser import Browser, query
from tests.e2e.test_logout_channels import LOGGED_OUT, REDIRECT, _sign_in, _web_client

REQUESTS = "/admin/oauth2/auth/requests/logout"
NO_ROWS = {"error": "Unable to locate the resource", "error_description": ""}  # sqlcon.ErrNoRows
X_NOT_FOUND = {"error": "Not Found", "error_description": "Unable to locate the requested resource"}  # x.ErrNotFound
# flow.LogoutRequest's JSON field order; `sid` is omitempty, but a logout request always has one.
KEYS = ["challenge", "subject", "sid", "request_url", "rp_initiated", "expires_at", "requested_at", "client"]
SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # Hydra rounds requested_at to the second, in UTC
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def get(admin: httpx.AsyncClient, challenge: str) -> httpx.Response:
    return await admin.get(REQUESTS, params={"logout_challenge": challenge})


async def accept(admin: httpx.AsyncClient, challenge: str) -> httpx.Response:
    return await admin.put(f"{REQUESTS}/accept", params={"logout_challenge": challenge})


async def reject(admin: httpx.AsyncClient, challenge: str) -> httpx.Response:
    return await admin.put(f"{REQUESTS}/reject", params={"logout_challenge": challenge})


def assert_answer(response: httpx.Response, status: int, body: dict | None) -> None:
    assert response.status_code == status, response.text
    if body is None:
        assert response.content == b""
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == body


async def _signed_in(browser: Browser, public: httpx.AsyncClient, make_client) -> tuple[dict, dict]:
    client = await _web_client(make_client)
    return client, await _sign_in(browser, public, client, f"user-{uuid.uuid4().hex[:8]}")


async def _challenge(browser: Browser, **params: str) -> tuple[str, str]:
    """Start a logout; return its challenge and the URL that was requested."""
    url = f"{browser.public_url}/oauth2/sessions/logout" + (f"?{urlencode(params)}" if params else "")
    start = await browser.get(url)
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith("http://127.0.0.1:9/logout?")
    return query(start.headers["location"])["logout_challenge"], url


async def _login_skipped(browser: Browser, client: dict) -> bool:
    """Whether the browser's login session still stands (the next login request is skipped)."""
    start = await browser.start(browser.auth_url(client, REDIRECT, "openid"))
    login = await get_login(browser.admin, query(start.headers["location"])["login_challenge"])
    return login["skip"]


async def get_login(admin: httpx.AsyncClient, challenge: str) -> dict:
    response = await admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("challenge", ["", "garbage", str(uuid.uuid4()), "x" * 300, "nul\x00byte"])
async def test_an_unknown_challenge_is_not_found(admin, challenge: str) -> None:
    """(a) GET and accept: the no-rows error of GetLogoutRequest; reject: x.ErrNotFound (no row updated)."""
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    assert_answer(await accept(admin, challenge), 404, NO_ROWS)
    assert_answer(await reject(admin, challenge), 404, X_NOT_FOUND)
    # the `challenge` alias, as cmp.Or(logout_challenge, challenge) reads it
    aliased = await admin.get(REQUESTS, params={"challenge": challenge})
    assert_answer(aliased, 404, NO_ROWS)


async def test_a_pending_op_initiated_request(browser, public, admin, make_client, server) -> None:
    """(b) GET answers the request (client null, no expiry past ttl.login_consent_request = 30m)."""
    _, claims = await _signed_in(browser, public, make_client)
    challenge, url = await _challenge(browser)
    assert UUID.match(challenge)  # Hydra v25: pborman/uuid.New()
    response = await get(admin, challenge)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == KEYS
    assert body["challenge"] == challenge and body["subject"] == claims["sub"] and body["sid"] == claims["sid"]
    assert body["request_url"].startswith(url) and body["rp_initiated"] is False and body["client"] is None
    assert SECOND.match(body["requested_at"]) and SECOND.match(body["expires_at"])
    requested = datetime.fromisoformat(body["requested_at"])
    assert datetime.fromisoformat(body["expires_at"]) - requested == timedelta(minutes=30)
    assert abs(datetime.now(requested.tzinfo) - requested) < timedelta(minutes=5)
    assert (await get(admin, challenge)).json() == body  # reading does not change it


async def test_a_pending_rp_initiated_request_shows_its_client(browser, public, admin, make_client) -> None:
    client, claims = await _signed_in(browser, public, make_client)
    challenge, url = await _challenge(browser, id_token_hint=claims["id_token"], post_logout_redirect_uri=LOGGED_OUT,
                                      state="state-of-the-rp")
    body = (await get(admin, challenge)).json()
    assert list(body) == KEYS
    assert body["rp_initiated"] is True and body["request_url"] == url and body["sid"] == claims["sid"]
    assert body["client"]["client_id"] == client["client_id"] and "client_secret" not in body["client"]


async def test_an_accepted_request(browser, public, admin, make_client, server) -> None:
    """(c)+(e) accept: 200 {redirect_to} with the same verifier each time; GET stays 200 until the verifier is
    spent, then 410 {redirect_to: request_url}; accept still answers the same redirect afterwards."""
    client, _ = await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser)
    pending = (await get(admin, challenge)).json()

    first = await accept(admin, challenge)
    assert first.status_code == 200 and list(first.json()) == ["redirect_to"], first.text
    redirect_to = first.json()["redirect_to"]
    verifier = query(redirect_to)["logout_verifier"]
    assert redirect_to == f"{server.public_url}/oauth2/sessions/logout?logout_verifier={verifier}"
    assert UUID.match(verifier) and verifier != challenge
    assert_answer(await accept(admin, challenge), 200, {"redirect_to": redirect_to})  # (e) accepted twice
    assert_answer(await get(admin, challenge), 200, pending)  # accepted, verifier not yet spent
    assert_answer(await get(admin, verifier), 404, NO_ROWS)  # a verifier is no challenge

    done = await browser.get(redirect_to)
    assert done.status_code == 302
    assert done.headers["location"] == f"{server.public_url}/oauth2/fallbacks/logout/callback"
    assert not await _login_skipped(browser, client)  # logged out

    gone = {"redirect_to": pending["request_url"]}
    assert_answer(await get(admin, challenge), 410, gone)
    assert_answer(await get(admin, challenge), 410, gone)
    assert_answer(await accept(admin, challenge), 200, {"redirect_to": redirect_to})  # no state check in Hydra
    # Spent again (Hydra does not refuse a used verifier): nothing left to end, straight to the post-logout URL.
    again = await browser.get(redirect_to)
    assert again.status_code == 302 and again.headers["location"].endswith("/oauth2/fallbacks/logout/callback")
    assert_answer(await get(admin, challenge), 410, gone)


async def test_a_rejected_request(browser, public, admin, make_client) -> None:
    """(d)+(e) reject: 204 without a body, again too; GET then 404 (the no-rows error); the session stays."""
    client, _ = await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser)
    assert_answer(await reject(admin, challenge), 204, None)
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    assert_answer(await reject(admin, challenge), 204, None)  # (e) rejected twice
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    assert await _login_skipped(browser, client)  # still signed in


async def test_accepting_a_rejected_request_revives_it(browser, public, admin, make_client, server) -> None:
    """AcceptLogoutRequest sets accepted=true, rejected=false whatever the state: GET answers 200 again and the
    verifier logs out."""
    client, _ = await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser)
    pending = (await get(admin, challenge)).json()
    assert_answer(await reject(admin, challenge), 204, None)
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    revived = await accept(admin, challenge)
    assert revived.status_code == 200, revived.text
    assert_answer(await get(admin, challenge), 200, pending)
    done = await browser.get(revived.json()["redirect_to"])
    assert done.status_code == 302 and done.headers["location"].endswith("/oauth2/fallbacks/logout/callback")
    assert not await _login_skipped(browser, client)


async def test_rejecting_an_accepted_request_voids_its_verifier(browser, public, admin, make_client) -> None:
    """RejectLogoutRequest clears accepted; VerifyAndInvalidateLogoutRequest only takes an accepted, unrejected
    request, so the verifier ends in x.ErrNotFound (the error page) and the session stays."""
    client, _ = await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser)
    redirect_to = (await accept(admin, challenge)).json()["redirect_to"]
    assert_answer(await reject(admin, challenge), 204, None)
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    refused = await browser.get(redirect_to)
    assert refused.status_code == 400 and "Not Found" in refused.text, refused.text
    assert await _login_skipped(browser, client)


async def test_rejecting_a_used_request_hides_it(browser, public, admin, make_client) -> None:
    """A spent request can still be rejected (204), after which GET answers 404 rather than 410."""
    await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser)
    redirect_to = (await accept(admin, challenge)).json()["redirect_to"]
    assert (await browser.get(redirect_to)).status_code == 302
    assert (await get(admin, challenge)).status_code == 410
    assert_answer(await reject(admin, challenge), 204, None)
    assert_answer(await get(admin, challenge), 404, NO_ROWS)


async def test_an_unknown_verifier_is_the_not_found_error_page(browser) -> None:
    for verifier in (str(uuid.uuid4()), "garbage"):
        response = await browser.get(f"{browser.public_url}/oauth2/sessions/logout?logout_verifier={verifier}")
        assert response.status_code == 400 and "Not Found" in response.text, response.text


async def test_a_deleted_clients_request_is_gone(browser, public, admin, make_client) -> None:
    """hydra_oauth2_logout_request.client_id references the client ON DELETE CASCADE."""
    client, claims = await _signed_in(browser, public, make_client)
    challenge, _ = await _challenge(browser, id_token_hint=claims["id_token"])
    assert (await get(admin, challenge)).status_code == 200
    assert (await admin.delete(f"/admin/clients/{client['client_id']}")).status_code == 204
    assert_answer(await get(admin, challenge), 404, NO_ROWS)
    assert_answer(await accept(admin, challenge), 404, NO_ROWS)
    assert_answer(await reject(admin, challenge), 404, X_NOT_FOUND)


@pytest.fixture(scope="module")
async def short_lived(postgres, template_db) -> AsyncIterator[Server]:
    """A server whose login, consent and logout requests live 4 s."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, TTL_LOGIN_CONSENT_REQUEST="4s") as srv:
        yield srv


async def test_an_expired_request(short_lived) -> None:
    """Past ttl.login_consent_request a pending request answers flow.ErrorLogoutFlowExpired (401) and is left as it
    was; an accepted request's verifier ends on the error page with it. (Hydra v25 checks the expiry only when the
    verifier is spent; hydralite refuses an expired request at the admin API as well, as its login and consent
    requests, and as REFERENCE.md §1b documents.) Its GET shows what accept and reject will answer."""
    expired = {"error": "request_unauthorized", "error_description": "The request could not be authorized. "
               "The logout request has expired, please try the flow again."}
    async with httpx.AsyncClient(base_url=short_lived.admin_url, timeout=30) as admin, \
            httpx.AsyncClient(base_url=short_lived.public_url, timeout=30) as public:
        browser = Browser(short_lived.public_url, admin)
        try:
            async def create(**fields) -> dict:
                response = await admin.post("/admin/clients", json={"client_secret": "a-good-secret-123", **fields})
                assert response.status_code == 201, response.text
                return response.json()

            client, _ = await _signed_in(browser, public, create)
            pending, _ = await _challenge(browser)
            accepted, _ = await _challenge(browser)
            redirect_to = (await accept(admin, accepted)).json()["redirect_to"]
            body = (await get(admin, pending)).json()
            left = datetime.fromisoformat(body["expires_at"]) - datetime.now(datetime.fromisoformat(
                body["requested_at"]).tzinfo)
            await asyncio.sleep(max(left.total_seconds(), 0) + 0.5)

            assert_answer(await get(admin, pending), 401, expired)
            assert_answer(await accept(admin, pending), 401, expired)
            assert_answer(await reject(admin, pending), 401, expired)
            assert_answer(await get(admin, "garbage"), 404, NO_ROWS)
            refused = await browser.get(redirect_to)
            assert refused.status_code == 400 and "request_unauthorized" in refused.text, refused.text
            assert await _login_skipped(browser, client)  # not logged out
        finally:
            await browser.close()
