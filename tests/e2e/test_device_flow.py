"""The device authorization grant (RFC 8628) end to end: a device asks for codes, a cookie-keeping browser enters the
user code (through the admin API, as a device page does), signs in and consents; the device polls the token
endpoint through authorization_pending and slow_down to its tokens. Plus denial, the concurrent-poll race, user-code
normalization and guessing limits, foreign and unauthenticated polls, and `hydralite perform device-code`."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import asyncpg
import httpx
import pytest

from tests.conftest import basic, run_server
from tests.e2e.browser import Browser, query

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
UI = "http://127.0.0.1:9"
ALPHABET = set("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679")


@pytest.fixture(scope="module")
async def server(postgres, template_db):
    """This module's own server: a 1s polling interval and the device pages at an address nobody serves."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL="1s",
                    URLS_DEVICE_VERIFICATION=f"{UI}/device", URLS_DEVICE_SUCCESS=f"{UI}/device/done",
                    HYDRALITE_DEVICE_USER_CODE_GUESSES="12") as srv:
        yield srv


@pytest.fixture
async def device_client(make_client):
    async def create(**fields) -> dict:
        fields.setdefault("grant_types", [GRANT, "refresh_token"])
        fields.setdefault("scope", "openid offline_access profile")
        fields.setdefault("token_endpoint_auth_method", "client_secret_post")  # as Hydra's CLI requires
        return await make_client(**fields)
    return create


async def codes(public: httpx.AsyncClient, client: dict, scope: str = "openid offline_access", **form) -> dict:
    """POST /oauth2/device/auth as the client (public clients send client_id only)."""
    body = {"client_id": client["client_id"], "scope": scope, **form}
    if client.get("token_endpoint_auth_method") != "none":
        body["client_secret"] = client["client_secret"]
    response = await public.post("/oauth2/device/auth", data=body)
    assert response.status_code == 200, response.text
    return response.json()


async def poll(public: httpx.AsyncClient, client: dict, device_code: str) -> httpx.Response:
    form = {"grant_type": GRANT, "device_code": device_code}
    method = client.get("token_endpoint_auth_method")
    if method == "client_secret_basic":
        return await public.post("/oauth2/token", data=form,
                                 headers=basic(client["client_id"], client["client_secret"]))
    form["client_id"] = client["client_id"]
    if method == "client_secret_post":
        form["client_secret"] = client["client_secret"]
    return await public.post("/oauth2/token", data=form)


async def enter(browser: Browser, admin: httpx.AsyncClient, user_code: str, start: str = "") -> httpx.Response:
    """The browser opens the verification URI, the device page accepts the code; returns the accept answer."""
    first = await browser.get(start or f"{browser.public_url}/oauth2/device/verify")
    assert first.status_code == 302, first.text
    assert first.headers["location"].startswith(f"{UI}/device?device_challenge=")
    challenge = query(first.headers["location"])["device_challenge"]
    seen = await admin.get("/admin/oauth2/auth/requests/device", params={"device_challenge": challenge})
    assert seen.status_code == 200 and seen.json()["challenge"] == challenge, seen.text
    return await admin.put("/admin/oauth2/auth/requests/device/accept", params={"device_challenge": challenge},
                           json={"user_code": user_code})


async def approve(browser: Browser, admin: httpx.AsyncClient, user_code: str, reject_login: bool = False,
                  reject_consent: bool = False, start: str = "") -> httpx.Response:
    """The whole browser part; returns hydralite's last answer (success redirect or error page)."""
    accepted = await enter(browser, admin, user_code, start)
    assert accepted.status_code == 200, accepted.text
    to_login = await browser.get(accepted.json()["redirect_to"])
    assert to_login.status_code == 302, to_login.text
    to_consent = await browser.login(to_login, reject=reject_login)
    if reject_login:
        return to_consent
    assert to_consent.status_code == 302, to_consent.text
    return await browser.consent(to_consent, reject=reject_consent)


async def test_device_authorization_response(public, device_client, server):
    client = await device_client()
    response = await public.post("/oauth2/device/auth", data={
        "client_id": client["client_id"], "client_secret": client["client_secret"], "scope": "openid profile"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in",
                         "interval"}
    assert re.fullmatch(r"ory_dc_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", body["device_code"])
    assert len(body["user_code"]) == 8 and set(body["user_code"]) <= ALPHABET
    assert body["verification_uri"] == f"{server.public_url}/oauth2/device/verify"
    assert body["verification_uri_complete"] == f"{body['verification_uri']}?user_code={body['user_code']}"
    assert body["expires_in"] == 600 and body["interval"] == 1
    # only signatures are stored: neither the device code nor the user code appears in the row
    conn = await asyncpg.connect(server.dsn)
    try:
        row = await conn.fetchrow("SELECT t::text AS text, signature FROM hydralite_device_code t WHERE client_id = $1",
                                  client["client_id"])
    finally:
        await conn.close()
    assert row["signature"] == body["device_code"].split(".")[1]
    assert body["device_code"] not in row["text"] and body["user_code"] not in row["text"]
    assert body["user_code"].casefold() not in row["text"].casefold()


async def test_whole_flow_public_client_through_the_browser(public, admin, browser, device_client, server):
    client = await device_client(token_endpoint_auth_method="none")
    device = await codes(public, client)
    pending = await poll(public, client, device["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending", pending.text
    done = await approve(browser, admin, device["user_code"], start=device["verification_uri_complete"])
    assert done.status_code == 302 and done.headers["location"] == f"{UI}/device/done?client_id={client['client_id']}"
    await asyncio.sleep(1)  # the interval
    tokens = await poll(public, client, device["device_code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["access_token"].startswith("ory_at_") and body["refresh_token"].startswith("ory_rt_")
    assert body["token_type"] == "bearer" and body["scope"] == "openid offline_access" and body["id_token"]
    info = (await admin.post("/admin/oauth2/introspect", data={"token": body["access_token"]})).json()
    assert info["active"] and info["sub"] == "foo@bar.com" and info["client_id"] == client["client_id"]
    userinfo = await public.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == "foo@bar.com"
    refreshed = await public.post("/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": client["client_id"], "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != body["access_token"], refreshed.text
    # the device code is single use, and reusing it revokes what it gave
    again = await poll(public, client, device["device_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = (await admin.post("/admin/oauth2/introspect", data={"token": refreshed.json()["access_token"]})).json()
    assert info == {"active": False}


async def test_confidential_client_with_basic_and_audience(public, admin, browser, device_client):
    client = await device_client(audience=["https://api.example.com"], token_endpoint_auth_method="client_secret_basic")
    answer = await public.post("/oauth2/device/auth", data={"scope": "profile", "audience": "https://api.example.com"},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert answer.status_code == 200, answer.text  # RFC 8628 §3.1: client_id may be left out when authenticating
    device = answer.json()
    done = await approve(browser, admin, device["user_code"])
    assert done.status_code == 302
    tokens = await poll(public, client, device["device_code"])
    assert tokens.status_code == 200 and "refresh_token" not in tokens.json() and "id_token" not in tokens.json()
    info = (await admin.post("/admin/oauth2/introspect", data={"token": tokens.json()["access_token"]})).json()
    assert info["aud"] == ["https://api.example.com"] and info["scope"] == "profile"


@pytest.mark.parametrize(("fields", "form", "status", "error"), [
    ({"grant_types": ["authorization_code"]}, {}, 400, "invalid_grant"),
    ({}, {"scope": "admin"}, 400, "invalid_scope"),
    ({}, {"audience": "https://elsewhere.example"}, 400, "invalid_request"),
    ({}, {"client_secret": "wrong-secret"}, 401, "invalid_client"),
    ({}, {"client_secret": None}, 401, "invalid_client"),
])
async def test_device_authorization_errors(public, device_client, fields, form, status, error):
    client = await device_client(**fields)
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"], "scope": "openid", **form}
    response = await public.post("/oauth2/device/auth", data={k: v for k, v in body.items() if v is not None})
    assert response.status_code == status and response.json()["error"] == error, response.text
    empty = await public.post("/oauth2/device/auth", content=b"",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_request"


@pytest.mark.parametrize("step", ["login", "consent"])
async def test_rejection_denies_the_device(public, admin, browser, device_client, step):
    client = await device_client()
    device = await codes(public, client)
    last = await approve(browser, admin, device["user_code"], reject_login=step == "login",
                         reject_consent=step == "consent")
    assert last.status_code == 400 and "access_denied" in last.text  # the error page, not the success URL
    denied = await poll(public, client, device["device_code"])
    assert denied.status_code == 403 and denied.json()["error"] == "access_denied", denied.text


async def test_pending_then_slow_down_then_pending(public, device_client):
    client = await device_client()
    device = await codes(public, client)
    first = await poll(public, client, device["device_code"])
    second = await poll(public, client, device["device_code"])  # sooner than the 1s interval
    assert first.json()["error"] == "authorization_pending"
    assert second.status_code == 400 and second.json()["error"] == "slow_down", second.text
    await asyncio.sleep(1.1)
    third = await poll(public, client, device["device_code"])
    assert third.json()["error"] == "authorization_pending"


async def test_concurrent_polls_after_approval_one_wins(public, admin, browser, device_client):
    client = await device_client()
    device = await codes(public, client)
    assert (await approve(browser, admin, device["user_code"])).status_code == 302
    answers = await asyncio.gather(*(poll(public, client, device["device_code"]) for _ in range(10)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [400] * 9, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_user_code_ignores_case_and_separators(public, admin, browser, device_client):
    client = await device_client()
    device = await codes(public, client)
    code = device["user_code"].swapcase()
    typed = f" {code[:4]}-{code[4:]} "
    done = await approve(browser, admin, typed)
    assert done.status_code == 302
    assert (await poll(public, client, device["device_code"])).status_code == 200


async def test_wrong_reused_and_unknown_user_codes(public, admin, browser, device_client):
    client = await device_client()
    device = await codes(public, client)
    wrong = await enter(browser, admin, "zzzzzzzz")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request", wrong.text
    assert "user_code" in wrong.json()["error_description"]
    assert (await approve(browser, admin, device["user_code"])).status_code == 302
    reused = await enter(browser, admin, device["user_code"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_request"
    # a challenge that accepted a code is done: 410 with where to start again; unknown ones are 404
    first = await browser.get(f"{browser.public_url}/oauth2/device/verify")
    challenge = query(first.headers["location"])["device_challenge"]
    other = await codes(public, client)
    path = "/admin/oauth2/auth/requests/device/accept"
    ok = await admin.put(path, params={"device_challenge": challenge}, json={"user_code": other["user_code"]})
    assert ok.status_code == 200
    twice = await admin.put(path, params={"device_challenge": challenge}, json={"user_code": other["user_code"]})
    assert twice.status_code == 410 and twice.json()["redirect_to"].startswith(f"{browser.public_url}/oauth2/device/")
    unknown = await admin.put(path, params={"device_challenge": "f" * 32}, json={"user_code": other["user_code"]})
    assert unknown.status_code == 404
    missing = await admin.put(path, json={"user_code": "abc"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    empty = await admin.put(path, params={"device_challenge": challenge}, json={})
    assert empty.status_code == 400 and "user_code" in empty.json()["error_description"]


async def test_device_verifier_needs_the_browser_that_started(public, admin, browser, device_client, server):
    client = await device_client()
    device = await codes(public, client)
    accepted = await enter(browser, admin, device["user_code"])
    async with httpx.AsyncClient() as stranger:  # no device CSRF cookie
        page = await stranger.get(accepted.json()["redirect_to"])
    assert page.status_code == 400 and "request_forbidden" in page.text


async def test_a_wrong_csrf_cookie_does_not_spend_the_device_verifier(public, admin, browser, device_client):
    """Whoever holds a leaked verifier but not the browser's CSRF cookie cannot burn it for the real browser."""
    client = await device_client()
    device = await codes(public, client)
    accepted = await enter(browser, admin, device["user_code"])
    redirect_to = accepted.json()["redirect_to"]
    names = [name for name in browser.http.cookies if "device_csrf" in name]
    assert names, browser.http.cookies
    async with httpx.AsyncClient() as stranger:
        page = await stranger.get(redirect_to, headers={"Cookie": "; ".join(f"{n}={'0' * 32}" for n in names)})
    assert page.status_code == 400 and "request_forbidden" in page.text
    to_login = await browser.get(redirect_to)
    assert to_login.status_code == 302 and "login_challenge=" in to_login.headers["location"], to_login.text


async def test_device_code_of_another_client_and_unauthenticated_polls(public, device_client):
    owner, other = await device_client(), await device_client()
    device = await codes(public, owner)
    foreign = await poll(public, other, device["device_code"])
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant", foreign.text
    bare = await public.post("/oauth2/token", data={"grant_type": GRANT, "device_code": device["device_code"],
                                                    "client_id": owner["client_id"]})  # no secret
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    nothing = await public.post("/oauth2/token", data={"grant_type": GRANT, "device_code": device["device_code"]})
    assert nothing.status_code == 401 and nothing.json()["error"] == "invalid_client"
    forged = await poll(public, owner, device["device_code"][:-2] + "AA")
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
    no_grant = await device_client(grant_types=["client_credentials"])
    refused = await poll(public, no_grant, device["device_code"])
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


async def test_challenge_locks_after_five_wrong_codes(public, admin, browser, device_client):
    client = await device_client()
    device = await codes(public, client)
    first = await browser.get(f"{browser.public_url}/oauth2/device/verify")
    challenge = query(first.headers["location"])["device_challenge"]
    path = "/admin/oauth2/auth/requests/device/accept"
    wrong = [await admin.put(path, params={"device_challenge": challenge}, json={"user_code": f"wrong{i}x"})
             for i in range(5)]
    assert [w.status_code for w in wrong] == [400] * 5
    right = await admin.put(path, params={"device_challenge": challenge}, json={"user_code": device["user_code"]})
    assert right.status_code == 429, right.text
    seen = await admin.get("/admin/oauth2/auth/requests/device", params={"device_challenge": challenge})
    assert seen.status_code == 429
    # the code itself is still good on a new challenge
    assert (await approve(browser, admin, device["user_code"])).status_code == 302


@pytest.mark.parametrize("fields, flags", [
    # the command asks for Hydra's default scope, offline openid
    ({"scope": "openid offline"}, []),
    # the README's device client (public, openid offline_access) with the README's command line
    ({"scope": "openid offline_access", "token_endpoint_auth_method": "none"}, ["--scope", "openid,offline_access"]),
], ids=["default-scope", "readme"])
async def test_perform_device_code_command(public, admin, browser, device_client, server, fields, flags):
    client = await device_client(**fields)
    if fields.get("token_endpoint_auth_method") != "none":
        flags = [*flags, "--client-secret", client["client_secret"]]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hydralite", "perform", "device-code", "-e", server.public_url, "--format", "json",
        "--client-id", client["client_id"], *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        lines = []
        while not any("enter the code" in line for line in lines):
            line = (await asyncio.wait_for(proc.stderr.readline(), timeout=30)).decode()
            assert line, f"perform device-code exited early: {lines}"
            lines.append(line)
        assert lines[0].startswith("To login please go to:")
        assert f"{server.public_url}/oauth2/device/verify?user_code=" in lines[1]
        user_code = lines[-1].split()[-1]
        assert (await approve(browser, admin, user_code)).status_code == 302
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "Successfully signed in!" in err.decode()
    token = json.loads(out)
    assert token["access_token"].startswith("ory_at_") and token["refresh_token"].startswith("ory_rt_")
    assert token["token_type"] == "bearer" and token["id_token"] and token["expiry"].endswith("Z")
    info = (await admin.post("/admin/oauth2/introspect", data={"token": token["access_token"]})).json()
    assert info["active"] and info["sub"] == "foo@bar.com"
    assert set(info["scope"].split()) == set(fields["scope"].split())


async def test_guesses_from_one_address_are_limited(public, admin, browser, device_client):
    """Last in the module: it spends this address's wrong-code budget (12 a minute on this server)."""
    client = await device_client()
    device = await codes(public, client)
    path = "/admin/oauth2/auth/requests/device/accept"
    statuses = []
    for _ in range(4):  # several challenges, so the per-challenge lock does not stop the guessing first
        first = await browser.get(f"{browser.public_url}/oauth2/device/verify")
        challenge = query(first.headers["location"])["device_challenge"]
        for i in range(4):
            answer = await admin.put(path, params={"device_challenge": challenge}, json={"user_code": f"guess{i}q"})
            statuses.append(answer.status_code)
    assert 429 in statuses and statuses.index(429) <= 12, statuses
    # now even the right code is refused from this address until the minute is over
    refused = await enter(browser, admin, device["user_code"])
    assert refused.status_code == 429 and refused.headers.get("retry-after") == "60", refused.text

