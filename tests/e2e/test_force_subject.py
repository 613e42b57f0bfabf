"""`force_subject_identifier` on login accept, as Hydra applies it (consent/strategy_default.go
ObfuscateSubjectIdentifier, oauth2/handler.go updateSessionWithRequest): for a pairwise client it replaces the
computed pairwise `sub` in the ID token and at /userinfo, while introspection keeps the real `sub` (and shows the
forced value as `obfuscated_subject`); for a public-subject client it changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import basic
from tests.e2e.browser import Browser, query
from tests.e2e.test_pairwise import ONE, TWO, _client, _seen_everywhere, expected, server  # noqa: F401


async def _sign_in_forced(browser: Browser, public: httpx.AsyncClient, client: dict, redirect: str, subject: str,
                          forced: str) -> dict:
    """One sign-in whose login is accepted with `force_subject_identifier`; the token response, with the decoded
    ID token claims under `claims`."""
    first = await browser.start(browser.auth_url(client, redirect, "openid offline_access", nonce=uuid.uuid4().hex))
    back = await browser.consent(await browser.login(first, subject=subject, remember=True,
                                                     force_subject_identifier=forced))
    assert back.status_code == 303, back.text
    params = query(back.headers["location"])
    assert "code" in params, params
    tokens = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": params["code"],
                                                      "redirect_uri": redirect},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert tokens.status_code == 200, tokens.text
    out = tokens.json()
    out["claims"] = jwt.decode(out["id_token"], await _keys(public)).claims
    return out


MakeClient = Callable[..., Awaitable[dict[str, Any]]]


async def _keys(public: httpx.AsyncClient) -> KeySet:
    return KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())


async def test_forced_identifier_is_the_pairwise_clients_sub(
        browser: Browser, public: httpx.AsyncClient, admin: httpx.AsyncClient, make_client: MakeClient) -> None:
    subject, forced = f"user-{uuid.uuid4().hex[:8]}", f"forced-{uuid.uuid4().hex}"
    client = await _client(make_client, [ONE], subject_type="pairwise")
    tokens = await _sign_in_forced(browser, public, client, ONE, subject, forced)
    assert tokens["claims"]["sub"] == forced != expected("127.0.0.1:5571", subject)
    sub, introspected = await _seen_everywhere(public, admin, tokens)  # /userinfo repeats the ID token's sub
    assert sub == forced
    # Hydra: introspection keeps the real subject; the client's view is `obfuscated_subject`.
    assert introspected["active"] is True and introspected["sub"] == subject
    assert introspected["obfuscated_subject"] == forced

    refreshed = await public.post("/oauth2/token", data={"grant_type": "refresh_token",
                                                         "refresh_token": tokens["refresh_token"]},
                                  headers=basic(client["client_id"], client["client_secret"]))
    assert refreshed.status_code == 200, refreshed.text
    assert jwt.decode(refreshed.json()["id_token"], await _keys(public)).claims["sub"] == forced


async def test_forced_identifier_needs_no_sector(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    # Hydra returns the forced value before it looks for the sector, so two redirect hosts without a
    # sector_identifier_uri (invalid_request otherwise) do not matter.
    subject, forced = f"user-{uuid.uuid4().hex[:8]}", f"forced-{uuid.uuid4().hex}"
    client = await _client(make_client, [ONE, TWO], subject_type="pairwise")
    tokens = await _sign_in_forced(browser, public, client, TWO, subject, forced)
    assert tokens["claims"]["sub"] == forced


async def test_forced_identifier_means_nothing_to_a_public_subject_client(
        browser: Browser, public: httpx.AsyncClient, admin: httpx.AsyncClient, make_client: MakeClient) -> None:
    subject, forced = f"user-{uuid.uuid4().hex[:8]}", f"forced-{uuid.uuid4().hex}"
    client = await _client(make_client, [ONE])
    assert client["subject_type"] == "public"
    tokens = await _sign_in_forced(browser, public, client, ONE, subject, forced)
    sub, introspected = await _seen_everywhere(public, admin, tokens)
    assert sub == subject
    assert introspected["sub"] == subject and "obfuscated_subject" not in introspected


async def test_without_a_forced_identifier_the_pairwise_hash_stays(
        browser: Browser, public: httpx.AsyncClient, make_client: MakeClient) -> None:
    subject = f"user-{uuid.uuid4().hex[:8]}"
    client = await _client(make_client, [ONE], subject_type="pairwise")
    tokens = await _sign_in_forced(browser, public, client, ONE, subject, "")
    assert tokens["claims"]["sub"] == expected("127.0.0.1:5571", subject)
