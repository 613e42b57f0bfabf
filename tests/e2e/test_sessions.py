"""Consent and login sessions through the admin API (REFERENCE.md §1b)."""

from __future__ import annotations

import uuid

from tests.conftest import basic
from tests.e2e.browser import query

REDIRECT = "http://127.0.0.1:5557/callback"



async def _grant(browser, public, client, subject, remember=True):
    first = await browser.start(browser.auth_url(client, REDIRECT, "offline_access api"))
    back = await browser.consent(await browser.login(first, subject=subject), remember=remember)
    code = query(back.headers["location"])["code"]
    response = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": REDIRECT},
                                 headers=basic(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()


async def test_remembered_consent_is_listed_and_revoking_it_revokes_tokens(browser, public, admin, make_client):
    client = await make_client(grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
                               scope="offline_access api")
    subject = f"user-{uuid.uuid4().hex[:8]}"
    tokens = await _grant(browser, public, client, subject)
    listed = await admin.get("/admin/oauth2/auth/sessions/consent", params={"subject": subject})
    assert listed.status_code == 200
    sessions = listed.json()
    assert len(sessions) == 1 and sessions[0]["grant_scope"] == ["offline_access", "api"]
    assert sessions[0]["remember"] is True and sessions[0]["handled_at"].endswith("Z")
    assert sessions[0]["consent_request"]["client"]["client_id"] == client["client_id"]

    deleted = await admin.delete("/admin/oauth2/auth/sessions/consent", params={"subject": subject, "all": "true"})
    assert deleted.status_code == 204
    assert (await admin.get("/admin/oauth2/auth/sessions/consent", params={"subject": subject})).json() == []
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await admin.post("/admin/oauth2/introspect", data={"token": token})).json() == {"active": False}


async def test_remembered_consent_is_skipped_and_prompt_consent_forces_it(browser, public, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="api")
    first = await browser.start(browser.auth_url(client, REDIRECT, "api"))
    await browser.consent(await browser.login(first, remember=True), remember=True)
    again = await browser.login(await browser.start(browser.auth_url(client, REDIRECT, "api")))
    challenge = query(again.headers["location"])["consent_challenge"]
    request = (await browser.admin.get("/admin/oauth2/auth/requests/consent",
                                       params={"consent_challenge": challenge})).json()
    assert request["skip"] is True
    forced = await browser.login(await browser.start(browser.auth_url(client, REDIRECT, "api", prompt="consent")))
    challenge = query(forced.headers["location"])["consent_challenge"]
    request = (await browser.admin.get("/admin/oauth2/auth/requests/consent",
                                       params={"consent_challenge": challenge})).json()
    assert request["skip"] is False


async def test_invalid_consent_revocation_parameters(admin):
    response = await admin.delete("/admin/oauth2/auth/sessions/consent", params={"client": "x"})
    assert response.status_code == 400 and response.json()["error_description"]


async def test_delete_login_sessions_needs_subject_or_sid(admin):
    assert (await admin.delete("/admin/oauth2/auth/sessions/login")).status_code == 400
    assert (await admin.delete("/admin/oauth2/auth/sessions/login", params={"subject": "nobody"})).status_code == 204


async def test_consent_cannot_grant_more_than_requested(browser, make_client):
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="api admin")
    after_login = await browser.login(await browser.start(browser.auth_url(client, REDIRECT, "api")))
    challenge = query(after_login.headers["location"])["consent_challenge"]
    answer = await browser.admin.put("/admin/oauth2/auth/requests/consent/accept",
                                     params={"consent_challenge": challenge}, json={"grant_scope": ["api", "admin"]})
    assert answer.status_code == 400 and "admin" in answer.json()["error_description"]
