"""An `id_token_hint` is checked again once the login verifier comes back, as Hydra does: verifyAuthentication
(consent/strategy_default.go) runs fosite's ValidatePrompt (handler/openid/validator.go) with the `sub` the client
sees for the user who just logged in (pairwise or forced identifier included); a hint naming someone else ends
in `login_required` at the client and the browser's login session is revoked."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.browser import Browser, query
from tests.e2e.test_force_subject import MakeClient, _sign_in_forced
from tests.e2e.test_pairwise import ONE, _client, _sign_in, expected, server  # noqa: F401

MISMATCH = ("The Authorization Server requires End-User authentication. Failed to validate OpenID Connect request "
            "because the subject from provided id token from id_token_hint does not match the current session's "
            "subject.")


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def _login_with_hint(browser: Browser, client: dict, id_token: str, subject: str,
                           **login_body: Any) -> httpx.Response:
    """Ask for a fresh login carrying the hint, accept it as `subject`; hydralite's answer to the login verifier."""
    first = await browser.start(browser.auth_url(client, ONE, "openid offline_access", nonce=uuid.uuid4().hex,
                                                 prompt="login", id_token_hint=id_token))
    assert "login_challenge" in first.headers["location"], first.headers["location"]
    return await browser.login(first, subject=subject, remember=True, **login_body)


def _session_cookie(browser: Browser) -> tuple[str, str]:
    (cookie,) = [c for c in browser.http.cookies.jar if c.name.startswith("ory_hydra_session")]
    return cookie.name, cookie.value or ""


async def _refused(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(ONE + "?"), location
    params = query(location)
    assert params["error"] == "login_required", params
    assert params["error_description"] == MISMATCH
    assert "code" not in params and params["state"]


async def test_a_hint_for_another_user_ends_in_login_required_and_revokes_the_session(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    alice, bob = _user(), _user()
    client = await _client(make_client, [ONE])
    tokens = await _sign_in(browser, public, client, ONE, alice)  # remembered: the browser has alice's session
    assert tokens["claims"]["sub"] == alice
    name, old_session = _session_cookie(browser)

    answer = await _login_with_hint(browser, client, tokens["id_token"], bob)
    await _refused(answer)
    cleared = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert cleared and ("max-age=0" in cleared[0].lower() or "expires=" in cleared[0].lower()), cleared
    assert not any(c.name == name for c in browser.http.cookies.jar)  # bob's login was never remembered either

    # Hydra deletes the login session the cookie named: replaying alice's old cookie no longer skips the login.
    replay = Browser(browser.public_url, browser.admin)
    try:
        replay.http.cookies.set(name, old_session)
        again = await replay.start(replay.auth_url(client, ONE, "openid", nonce=uuid.uuid4().hex))
        challenge = query(again.headers["location"])["login_challenge"]
        request = await browser.admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
        assert request.json()["skip"] is False
    finally:
        await replay.close()


async def test_a_hint_for_another_user_is_refused_without_any_session(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    client = await _client(make_client, [ONE])
    hint = (await _sign_in(browser, public, client, ONE, _user()))["id_token"]
    fresh = Browser(browser.public_url, browser.admin)
    try:
        first = await fresh.start(fresh.auth_url(client, ONE, "openid", nonce=uuid.uuid4().hex, id_token_hint=hint))
        await _refused(await fresh.login(first, subject=_user()))
    finally:
        await fresh.close()


async def test_a_hint_for_the_user_who_logs_in_gets_a_code(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    alice = _user()
    client = await _client(make_client, [ONE])
    tokens = await _sign_in(browser, public, client, ONE, alice)
    answer = await _login_with_hint(browser, client, tokens["id_token"], alice)
    assert "consent_challenge" in answer.headers["location"], answer.headers["location"]
    back = await browser.consent(answer)
    assert back.status_code == 303 and "code" in query(back.headers["location"]), back.headers["location"]


async def test_a_pairwise_hint_carries_the_pairwise_sub(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    alice, bob = _user(), _user()
    client = await _client(make_client, [ONE], subject_type="pairwise")
    tokens = await _sign_in(browser, public, client, ONE, alice)
    assert tokens["claims"]["sub"] == expected("127.0.0.1:5571", alice) != alice

    answer = await _login_with_hint(browser, client, tokens["id_token"], alice)  # the same user: accepted
    assert "consent_challenge" in answer.headers["location"], answer.headers["location"]
    back = await browser.consent(answer)
    assert back.status_code == 303 and "code" in query(back.headers["location"]), back.headers["location"]

    await _refused(await _login_with_hint(browser, client, tokens["id_token"], bob))  # someone else: refused


async def test_a_forced_identifier_is_what_the_hint_is_compared_with(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    alice, forced = _user(), f"forced-{uuid.uuid4().hex}"
    client = await _client(make_client, [ONE], subject_type="pairwise")
    tokens = await _sign_in_forced(browser, public, client, ONE, alice, forced)
    assert tokens["claims"]["sub"] == forced

    answer = await _login_with_hint(browser, client, tokens["id_token"], alice, force_subject_identifier=forced)
    assert "consent_challenge" in answer.headers["location"], answer.headers["location"]
    # Hydra compares with this login's view of the user: alice without the forced identifier is another `sub`.
    await _refused(await _login_with_hint(browser, client, tokens["id_token"], alice))


# --- Before the login UI (Hydra's requestAuthentication / forwardAuthenticationRequest) ---------------------------

async def _start_error(browser: Browser, client: dict, **params: Any) -> dict[str, str]:
    answer = await browser.start(browser.auth_url(client, ONE, "openid", nonce=uuid.uuid4().hex, **params))
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith(ONE + "?"), answer.headers
    return query(answer.headers["location"])


async def test_at_start_a_remembered_session_for_someone_else_is_login_required(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    client = await _client(make_client, [ONE])
    other = Browser(browser.public_url, browser.admin)
    try:
        hint = (await _sign_in(other, public, client, ONE, _user()))["id_token"]
        await _sign_in(browser, public, client, ONE, _user())  # this browser remembers someone else
    finally:
        await other.close()
    params = await _start_error(browser, client, id_token_hint=hint, prompt="none")
    assert (params["error"], params["error_description"]) == (
        "login_required", "The Authorization Server requires End-User authentication. Request failed because "
        "subject claim from id_token_hint does not match subject from authentication session.")


async def test_at_start_the_hints_claims_reach_the_login_request(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    alice = _user()
    client = await _client(make_client, [ONE])
    tokens = await _sign_in(browser, public, client, ONE, alice)
    fresh = Browser(browser.public_url, browser.admin)  # no session: the login UI is shown, with the hint's claims
    try:
        first = await fresh.start(fresh.auth_url(client, ONE, "openid", nonce=uuid.uuid4().hex,
                                                 id_token_hint=tokens["id_token"]))
        challenge = query(first.headers["location"])["login_challenge"]
        request = (await browser.admin.get("/admin/oauth2/auth/requests/login",
                                           params={"login_challenge": challenge})).json()
        claims = request["oidc_context"]["id_token_hint_claims"]
        assert claims["sub"] == alice and claims["aud"] == [client["client_id"]] and claims["nonce"]
    finally:
        await fresh.close()


async def test_at_start_an_unverifiable_hint_is_invalid_request(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    client = await _client(make_client, [ONE])
    hint = (await _sign_in(browser, public, client, ONE, _user()))["id_token"]
    fresh = Browser(browser.public_url, browser.admin)
    try:
        params = await _start_error(fresh, client, id_token_hint=hint[:-4] + "AAAA")
        assert params["error"] == "invalid_request", params
    finally:
        await fresh.close()


async def test_at_start_prompt_none_past_max_age_is_login_required(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    client = await _client(make_client, [ONE])
    await _sign_in(browser, public, client, ONE, _user())
    params = await _start_error(browser, client, prompt="none", max_age="0")
    assert (params["error"], params["error_description"]) == (
        "login_required", "The Authorization Server requires End-User authentication. Request failed because prompt "
        "is set to 'none' and authentication time reached 'max_age'.")


async def test_at_start_a_hint_with_the_forced_identifier_matches_the_session(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    """Hydra's forced obfuscated login session: the ID token of a sign-in accepted with force_subject_identifier
    carries that `sub`, and as a hint it still names the remembered user."""
    alice, forced = _user(), f"forced-{uuid.uuid4().hex}"
    client = await _client(make_client, [ONE], subject_type="pairwise")
    fresh = Browser(browser.public_url, browser.admin)
    try:
        tokens = await _sign_in_forced(fresh, public, client, ONE, alice, forced)  # remembered: alice's session
        assert tokens["claims"]["sub"] == forced
        again = await fresh.start(fresh.auth_url(client, ONE, "openid", nonce=uuid.uuid4().hex,
                                                 id_token_hint=tokens["id_token"]))
        challenge = query(again.headers["location"]).get("login_challenge")
        assert challenge, again.headers["location"]
        request = (await browser.admin.get("/admin/oauth2/auth/requests/login",
                                           params={"login_challenge": challenge})).json()
        assert request["skip"] is True and request["subject"] == alice
    finally:
        await fresh.close()
