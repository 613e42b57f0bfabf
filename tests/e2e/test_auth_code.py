"""Authorization code + PKCE, refresh, reuse detection and the login/consent protocol, over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import basic
from tests.e2e.browser import pkce_pair, query

REDIRECT = "http://127.0.0.1:5555/callback"



@pytest.fixture
async def web_client(make_client):
    return await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                             redirect_uris=[REDIRECT], scope="openid offline_access profile api")


async def exchange(public, client, code, verifier=None, redirect_uri=REDIRECT):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    return await public.post("/oauth2/token", data=data, headers=basic(client["client_id"], client["client_secret"]))


async def introspect(admin, token):
    return (await admin.post("/admin/oauth2/introspect", data={"token": token})).json()


async def test_code_pkce_refresh_introspect_revoke_userinfo(browser, public, admin, web_client):
    verifier, challenge = pkce_pair()
    code, params = await browser.code(web_client, REDIRECT, "openid offline_access api",
                                      code_challenge=challenge, code_challenge_method="S256", nonce="n-0123456789")
    assert params["scope"] == "openid offline_access api"
    token = await exchange(public, web_client, code, verifier)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["access_token"].startswith("ory_at_") and body["refresh_token"].startswith("ory_rt_")
    assert body["id_token"].count(".") == 2 and body["token_type"] == "bearer"
    info = await introspect(admin, body["access_token"])
    assert info["active"] and info["sub"] == "foo@bar.com" and info["client_id"] == web_client["client_id"]

    refreshed = await public.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                         "refresh_token": body["refresh_token"]},
                                  headers=basic(web_client["client_id"], web_client["client_secret"]))
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != body["refresh_token"] and new["id_token"]
    assert (await introspect(admin, body["access_token"]))["active"] is False  # rotation drops the old AT
    assert (await introspect(admin, new["refresh_token"]))["token_use"] == "refresh_token"

    me = await public.get("/userinfo", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 200 and me.json()["sub"] == "foo@bar.com"

    revoked = await public.post("/oauth2/revoke", data={"token": new["refresh_token"]},
                                headers=basic(web_client["client_id"], web_client["client_secret"]))
    assert revoked.status_code == 200
    me = await public.get("/userinfo", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 401 and "invalid_token" in me.headers["www-authenticate"]


async def test_code_reuse_revokes_first_tokens(browser, public, admin, web_client):
    code, _ = await browser.code(web_client, REDIRECT, "offline_access api")
    first = await exchange(public, web_client, code)
    assert first.status_code == 200
    second = await exchange(public, web_client, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert (await introspect(admin, first.json()["access_token"]))["active"] is False
    assert (await introspect(admin, first.json()["refresh_token"]))["active"] is False


async def test_twenty_concurrent_exchanges_one_success(browser, public, web_client):
    code, _ = await browser.code(web_client, REDIRECT, "api")
    results = await asyncio.gather(*(exchange(public, web_client, code) for _ in range(20)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1 and statuses.count(400) == 19
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code == 400)


async def test_refresh_reuse_revokes_chain(browser, public, admin, web_client):
    code, _ = await browser.code(web_client, REDIRECT, "offline_access")
    tokens = (await exchange(public, web_client, code)).json()
    auth = basic(web_client["client_id"], web_client["client_secret"])
    rotated = (await public.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                        "refresh_token": tokens["refresh_token"]}, headers=auth)).json()
    reuse = await public.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": tokens["refresh_token"]}, headers=auth)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert (await introspect(admin, rotated["access_token"]))["active"] is False
    again = await public.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                     "refresh_token": rotated["refresh_token"]}, headers=auth)
    assert again.status_code == 400


async def test_concurrent_refresh_one_success(browser, public, web_client):
    code, _ = await browser.code(web_client, REDIRECT, "offline_access")
    tokens = (await exchange(public, web_client, code)).json()
    auth = basic(web_client["client_id"], web_client["client_secret"])
    results = await asyncio.gather(*(public.post("/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, headers=auth) for _ in range(10)))
    assert sorted(r.status_code for r in results).count(200) == 1


async def test_prompt_none_without_session_is_login_required(browser, web_client):
    response = await browser.start(browser.auth_url(web_client, REDIRECT, "api", prompt="none"))
    assert response.status_code == 303
    params = query(response.headers["location"])
    assert params["error"] == "login_required" and params["state"]


async def test_remembered_login_is_skipped(browser, web_client):
    first = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    after_login = await browser.login(first, remember=True, remember_for=3600)
    await browser.consent(after_login)
    again = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    challenge = query(again.headers["location"])["login_challenge"]
    request = (await browser.admin.get("/admin/oauth2/auth/requests/login",
                                       params={"login_challenge": challenge})).json()
    assert request["skip"] is True and request["subject"] == "foo@bar.com"


async def test_rejected_login_reaches_client_as_access_denied(browser, web_client):
    first = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    back = await browser.login(first, reject=True)
    assert back.status_code == 303
    params = query(back.headers["location"])
    assert params["error"] == "access_denied" and "denied" in params["error_description"]


async def test_unregistered_redirect_uri_shows_error_page(browser, web_client):
    response = await browser.get(browser.auth_url(web_client, "http://127.0.0.1:5555/evil", "api"))
    assert response.status_code == 400 and "location" not in response.headers
    assert "redirect_uri" in response.text and response.headers["x-frame-options"] == "DENY"


async def test_login_verifier_is_single_use(browser, web_client):
    first = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    challenge = query(first.headers["location"])["login_challenge"]
    answer = await browser.admin.put("/admin/oauth2/auth/requests/login/accept",
                                     params={"login_challenge": challenge}, json={"subject": "foo@bar.com"})
    url = answer.json()["redirect_to"]
    assert (await browser.get(url)).status_code == 302
    replay = await browser.get(url)
    assert replay.status_code == 303 and query(replay.headers["location"])["error"] == "access_denied"
    handled = await browser.admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
    assert handled.status_code == 410 and "redirect_to" in handled.json()


async def test_unknown_challenge_is_404(admin):
    response = await admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": "nope"})
    assert response.status_code == 404 and response.json()["error"]


async def test_op_initiated_logout_ends_the_session(browser, web_client):
    first = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    await browser.consent(await browser.login(first, remember=True))
    start = await browser.get(f"{browser.public_url}/oauth2/sessions/logout")
    assert start.status_code == 302
    challenge = query(start.headers["location"])["logout_challenge"]
    request = await browser.admin.get("/admin/oauth2/auth/requests/logout", params={"logout_challenge": challenge})
    assert request.status_code == 200 and request.json()["subject"] == "foo@bar.com"
    assert request.json()["rp_initiated"] is False
    accepted = await browser.admin.put("/admin/oauth2/auth/requests/logout/accept",
                                       params={"logout_challenge": challenge})
    done = await browser.get(accepted.json()["redirect_to"])
    assert done.status_code == 302 and done.headers["location"].endswith("/oauth2/fallbacks/logout/callback")
    again = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    login = await browser.admin.get("/admin/oauth2/auth/requests/login",
                                    params={"login_challenge": query(again.headers["location"])["login_challenge"]})
    assert login.json()["skip"] is False


async def test_logout_with_state_but_no_hint_is_refused(browser):
    response = await browser.get(f"{browser.public_url}/oauth2/sessions/logout?state=abcdefgh1234")
    assert response.status_code == 400 and "location" not in response.headers


async def test_error_page_escapes_html(browser):
    url = f"{browser.public_url}/oauth2/fallbacks/error?error=x&error_description=<script>x</script>"
    response = await browser.get(url)
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text


async def test_authorize_errors_redirect_with_state(browser, web_client):
    bad_scope = await browser.get(browser.auth_url(web_client, REDIRECT, "admin"))
    assert bad_scope.status_code == 303
    params = query(bad_scope.headers["location"])
    assert params["error"] == "invalid_scope" and params["state"] and params["iss"]
    short_state = await browser.get(browser.auth_url(web_client, REDIRECT, "api", state="short"))
    assert query(short_state.headers["location"])["error"] == "invalid_state"
    plain = await browser.get(browser.auth_url(web_client, REDIRECT, "api", code_challenge="c" * 43,
                                               code_challenge_method="plain"))
    assert query(plain.headers["location"])["error"] == "invalid_request"
    token = await browser.get(browser.auth_url(web_client, REDIRECT, "api", response_type="token"))
    assert query(token.headers["location"])["error"] == "unsupported_response_type"
    unknown = await browser.get(f"{browser.public_url}/oauth2/auth?client_id=nope&response_type=code&"
                                f"redirect_uri={REDIRECT}&state=abcdefghij")
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_form_post_and_post_authorize(browser, web_client):
    first = await browser.http.post(f"{browser.public_url}/oauth2/auth", data={
        "client_id": web_client["client_id"], "response_type": "code", "redirect_uri": REDIRECT, "scope": "api",
        "state": "state-0123456789", "response_mode": "form_post"})
    assert first.status_code == 302
    back = await browser.consent(await browser.login(first))
    assert back.status_code == 200 and back.headers["x-frame-options"] == "DENY"
    assert 'name="code"' in back.text and f'action="{REDIRECT}"' in back.text and "state-0123456789" in back.text


async def test_code_flow_for_client_without_the_grant_is_unauthorized(browser, public, make_client):
    client = await make_client(grant_types=["client_credentials"], redirect_uris=[REDIRECT], scope="api")
    code, _ = await browser.code(client, REDIRECT, "api")
    response = await exchange(public, client, code)
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


async def test_code_bound_to_client_and_redirect_uri(browser, public, web_client, make_client):
    other = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="api")
    code, _ = await browser.code(web_client, REDIRECT, "api")
    stolen = await exchange(public, other, code)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    wrong = await exchange(public, web_client, code, redirect_uri="http://127.0.0.1:5555/other")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert (await exchange(public, web_client, code)).status_code == 200  # neither attempt spent it


async def test_prompt_login_and_max_age_force_a_new_login(browser, web_client):
    first = await browser.start(browser.auth_url(web_client, REDIRECT, "api"))
    await browser.consent(await browser.login(first, remember=True))

    async def skip_of(**extra):
        again = await browser.start(browser.auth_url(web_client, REDIRECT, "api", **extra))
        challenge = query(again.headers["location"])["login_challenge"]
        request = await browser.admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
        return request.json()["skip"]

    assert await skip_of() is True
    assert await skip_of(prompt="login") is False
    assert await skip_of(max_age="3600") is True
    assert await skip_of(max_age="0") is False  # the session is older than 0 seconds
    assert await skip_of(prompt="none") is True  # a session exists: the login UI is asked to skip
