"""OpenID Connect Back-Channel and Front-Channel Logout 1.0 as Hydra performs them (consent/strategy_default.go):
every client that took part in an ended login session gets a signed logout token (RP-initiated, OP-initiated and
admin-revoked sessions), a hanging or failing receiver never holds up the logout, and the logout page frames each
front-channel logout URI with `iss` and `sid` before it continues to the post-logout redirect."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import basic
from tests.e2e.browser import Browser, query
from tests.e2e.receiver import Receiver

REDIRECT = "http://127.0.0.1:5561/callback"
LOGGED_OUT = "http://127.0.0.1:5561/logged-out"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    rx = await Receiver().start()
    yield rx
    await rx.stop()


async def _web_client(make_client, **fields) -> dict:
    return await make_client(grant_types=["authorization_code"], response_types=["code"], scope="openid",
                             redirect_uris=[REDIRECT], post_logout_redirect_uris=[LOGGED_OUT], **fields)


async def _sign_in(browser: Browser, public: httpx.AsyncClient, client: dict, subject: str) -> dict:
    """Sign in (remembered, so later clients reuse the session) and return the ID token's claims and the token."""
    first = await browser.start(browser.auth_url(client, REDIRECT, "openid", nonce=uuid.uuid4().hex))
    back = await browser.consent(await browser.login(first, subject=subject, remember=True))
    assert back.status_code == 303, back.text
    code = query(back.headers["location"])["code"]
    tokens = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": REDIRECT},
                               headers=basic(client["client_id"], client["client_secret"]))
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]
    claims = jwt.decode(id_token, await _jwks(public)).claims
    return {"id_token": id_token, **claims}


async def _jwks(public: httpx.AsyncClient) -> KeySet:
    return KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())


async def _logout(browser: Browser, **params: str) -> httpx.Response:
    """RP- or OP-initiated logout through the logout UI's accept call; returns hydralite's final answer."""
    start = await browser.http.get(f"{browser.public_url}/oauth2/sessions/logout", params=params)
    assert start.status_code == 302, start.text
    challenge = query(start.headers["location"])["logout_challenge"]
    accepted = await browser.admin.put("/admin/oauth2/auth/requests/logout/accept",
                                       params={"logout_challenge": challenge})
    assert accepted.status_code == 200, accepted.text
    return await browser.get(accepted.json()["redirect_to"])


async def _logout_claims(public: httpx.AsyncClient, received) -> dict:
    assert received.method == "POST"
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    token = jwt.decode(received.form["logout_token"], await _jwks(public))
    assert token.header["alg"] == "RS256" and token.header["kid"]
    return token.claims


async def test_discovery_lists_logout_channels(public):
    doc = (await public.get("/.well-known/openid-configuration")).json()
    for flag in ("backchannel_logout_supported", "backchannel_logout_session_supported",
                 "frontchannel_logout_supported", "frontchannel_logout_session_supported"):
        assert doc[flag] is True, flag


async def test_rp_initiated_logout_sends_a_logout_token_to_each_participating_client(
        browser, public, make_client, server, receiver):
    subject = f"user-{uuid.uuid4().hex[:8]}"
    paths = {name: f"/bc/{uuid.uuid4().hex[:8]}" for name in ("a", "b", "bystander")}
    a = await _web_client(make_client, backchannel_logout_uri=receiver.base + paths["a"],
                          backchannel_logout_session_required=True)
    b = await _web_client(make_client, backchannel_logout_uri=receiver.base + paths["b"])
    silent = await _web_client(make_client)  # took part, but registered no logout URI
    bystander = await _web_client(make_client, backchannel_logout_uri=receiver.base + paths["bystander"])
    first = await _sign_in(browser, public, a, subject)
    second = await _sign_in(browser, public, b, subject)
    await _sign_in(browser, public, silent, subject)
    assert first["sid"] == second["sid"]  # one login session, three clients

    done = await _logout(browser, id_token_hint=first["id_token"], post_logout_redirect_uri=LOGGED_OUT,
                         state="logout-state-1")
    assert done.status_code == 302 and done.headers["location"] == f"{LOGGED_OUT}?state=logout-state-1"

    for client, path in ((a, paths["a"]), (b, paths["b"])):
        (received,) = await receiver.wait_for(path)
        claims = await _logout_claims(public, received)
        assert claims["iss"] == f"{server.public_url}/"
        assert claims["aud"] == [client["client_id"]]
        assert claims["sid"] == first["sid"]
        assert claims["sub"] == subject
        assert claims["events"] == {EVENT: {}}
        assert isinstance(claims["iat"], int) and claims["exp"] > claims["iat"]
        assert claims["jti"] and "nonce" not in claims
    tokens = [receiver.at(paths[n])[0].form["logout_token"] for n in ("a", "b")]
    assert len({jwt.decode(t, await _jwks(public)).claims["jti"] for t in tokens}) == 2
    assert receiver.at(paths["bystander"]) == []  # never signed in under this session
    assert bystander["client_id"]

    # The session is gone: the same hint now goes straight to the post-logout URI and nobody is told again.
    again = await browser.get(f"{browser.public_url}/oauth2/sessions/logout?id_token_hint={first['id_token']}")
    assert again.status_code == 302 and "logout_challenge" not in again.headers["location"]


async def test_op_initiated_logout_tells_the_clients_of_the_cookie_session(browser, public, make_client, receiver):
    path = f"/bc/{uuid.uuid4().hex[:8]}"
    client = await _web_client(make_client, backchannel_logout_uri=receiver.base + path)
    signed_in = await _sign_in(browser, public, client, f"user-{uuid.uuid4().hex[:8]}")
    done = await _logout(browser)  # no id_token_hint: the session of the browser's cookie
    assert done.status_code == 302
    assert done.headers["location"].endswith("/oauth2/fallbacks/logout/callback")
    assert "max-age=0" in done.headers.get("set-cookie", "").lower()
    (received,) = await receiver.wait_for(path)
    claims = await _logout_claims(public, received)
    assert claims["sid"] == signed_in["sid"] and claims["aud"] == [client["client_id"]]


async def test_admin_session_revocation_sends_logout_tokens(browser, public, admin, make_client, receiver):
    path = f"/bc/{uuid.uuid4().hex[:8]}"
    client = await _web_client(make_client, backchannel_logout_uri=receiver.base + path)
    subject = f"user-{uuid.uuid4().hex[:8]}"
    signed_in = await _sign_in(browser, public, client, subject)
    gone = await admin.delete("/admin/oauth2/auth/sessions/login", params={"sid": signed_in["sid"]})
    assert gone.status_code == 204
    (received,) = await receiver.wait_for(path)
    claims = await _logout_claims(public, received)
    assert claims["sid"] == signed_in["sid"] and claims["sub"] == subject
    # The session no longer skips login: a new authorization asks the login UI again.
    start = await browser.start(browser.auth_url(client, REDIRECT, "openid", nonce="n-0123456789"))
    challenge = query(start.headers["location"])["login_challenge"]
    request = await admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
    assert request.json()["skip"] is False


async def test_a_hanging_receiver_does_not_hold_up_the_logout(browser, public, admin, make_client, receiver):
    hang = f"/hang/{uuid.uuid4().hex[:8]}"
    receiver.gates[hang] = asyncio.Event()
    client = await _web_client(make_client, backchannel_logout_uri=receiver.base + hang)
    signed_in = await _sign_in(browser, public, client, f"user-{uuid.uuid4().hex[:8]}")
    done = await _logout(browser, id_token_hint=signed_in["id_token"])
    assert done.status_code == 302  # answered although the receiver has not answered (its gate is still shut)
    await receiver.wait_for(hang)
    assert not receiver.gates[hang].is_set()

    # The admin revocation of another session is not held up either.
    other = Browser(browser.public_url, admin)  # a second browser: a second login session
    try:
        second = await _sign_in(other, public, client, f"user-{uuid.uuid4().hex[:8]}")
        gone = await admin.delete("/admin/oauth2/auth/sessions/login", params={"sid": second["sid"]})
        assert gone.status_code == 204
        await receiver.wait_for(hang, count=2)
        assert not receiver.gates[hang].is_set()
    finally:
        await other.close()
        receiver.gates[hang].set()


async def test_a_failing_receiver_gets_the_same_token_once_more(browser, public, make_client, receiver):
    failing = f"/fail/{uuid.uuid4().hex[:8]}"
    receiver.routes[failing] = (500, "text/plain", b"no")
    client = await _web_client(make_client, backchannel_logout_uri=receiver.base + failing)
    signed_in = await _sign_in(browser, public, client, f"user-{uuid.uuid4().hex[:8]}")
    done = await _logout(browser, id_token_hint=signed_in["id_token"])
    assert done.status_code == 302
    first, second = await receiver.wait_for(failing, count=2)
    assert first.form["logout_token"] == second.form["logout_token"]  # a redelivery: same jti


async def test_frontchannel_logout_page_frames_each_client_with_iss_and_sid(browser, public, make_client, server,
                                                                            receiver):
    subject = f"user-{uuid.uuid4().hex[:8]}"
    front = await _web_client(make_client, frontchannel_logout_uri="https://rp-one.example/logout?from=op",
                              frontchannel_logout_session_required=True)
    both = await _web_client(make_client, frontchannel_logout_uri="https://rp-two.example/fc",
                             backchannel_logout_uri=receiver.base + (path := f"/bc/{uuid.uuid4().hex[:8]}"))
    first = await _sign_in(browser, public, front, subject)
    await _sign_in(browser, public, both, subject)
    done = await _logout(browser, id_token_hint=first["id_token"], post_logout_redirect_uri=LOGGED_OUT,
                         state="front-state-1")
    assert done.status_code == 200 and done.headers["content-type"].startswith("text/html")
    assert "max-age=0" in done.headers.get("set-cookie", "").lower()  # the session cookie is cleared
    frames = [html.unescape(src) for src in re.findall(r'<iframe src="([^"]+)"', done.text)]
    assert len(frames) == 2
    by_host = {urlsplit(f).hostname: parse_qs(urlsplit(f).query) for f in frames}
    issuer = f"{server.public_url}/"
    assert by_host["rp-one.example"] == {"from": ["op"], "iss": [issuer], "sid": [first["sid"]]}
    assert by_host["rp-two.example"] == {"iss": [issuer], "sid": [first["sid"]]}
    target = f"{LOGGED_OUT}?state=front-state-1"
    assert f'content="7; URL={html.escape(target)}"' in done.text  # then on to the post-logout redirect
    assert f'var redir = "{target}";' in done.text.replace("\\u0026", "&")
    (received,) = await receiver.wait_for(path)  # the client with both channels is told on both
    assert (await _logout_claims(public, received))["sid"] == first["sid"]


async def test_logout_uris_are_kept_and_shown_on_the_client(make_client, admin):
    client = await _web_client(make_client, frontchannel_logout_uri="https://rp.example/fc",
                               frontchannel_logout_session_required=True,
                               backchannel_logout_uri="https://rp.example/bc",
                               backchannel_logout_session_required=True)
    stored = (await admin.get(f"/admin/clients/{client['client_id']}")).json()
    assert stored["frontchannel_logout_uri"] == "https://rp.example/fc"
    assert stored["backchannel_logout_uri"] == "https://rp.example/bc"
    assert stored["frontchannel_logout_session_required"] is True
    assert stored["backchannel_logout_session_required"] is True
