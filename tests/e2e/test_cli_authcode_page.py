"""`perform authorization-code` as Hydra's CLI serves it: the result page lists the tokens, --https serves the
callback with a self-signed certificate, and the built-in login and consent steps (with --skip) drive a whole
sign-in when urls.login and urls.consent point at the command."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from html import unescape

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.conftest import free_port, run_server
from tests.e2e.browser import Browser, query
from tests.e2e.test_cli_authcode import finish, start


def fields(page: str) -> dict[str, list[str]]:
    """The values a browser would post from the page's form (checked boxes and hidden inputs)."""
    out: dict[str, list[str]] = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        box = 'type="checkbox"' in tag
        if name and (value or box) and (not box or " checked" in tag):  # a box without a value sends "on"
            out.setdefault(unescape(name.group(1)), []).append(unescape(value.group(1)) if value else "on")
    return out


def assert_result_page(page: httpx.Response, tokens: dict) -> None:
    assert page.status_code == 200, page.text
    for label, key in (("Access Token", "access_token"), ("Refresh Token", "refresh_token"),
                       ("ID Token", "id_token")):
        assert f"<li>{label}: <code>{tokens[key]}</code></li>" in page.text
    expires = re.search(r"<li>Expires at: <code>([^<]+)</code></li>", page.text).group(1)
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC", expires), expires


async def test_https_callback_page_shows_the_tokens(server, admin, make_client):
    port = free_port()
    redirect = f"https://127.0.0.1:{port}/callback"
    client = await make_client(grant_types=["authorization_code", "refresh_token"], scope="openid offline",
                               redirect_uris=[redirect])
    proc, url = await start(server, client, port, "--https", "--format", "json")
    browser = Browser(server.public_url, admin)
    try:
        assert query(url)["redirect_uri"] == redirect
        pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", port))
        cert = x509.load_pem_x509_certificate(pem.encode())
        assert cert.subject == cert.issuer  # self-signed, named as Hydra names it
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ORY"
        back = await browser.consent(await browser.login(await browser.start(url)))
        assert back.headers["location"].startswith(redirect + "?")
        async with httpx.AsyncClient(verify=False, timeout=30) as tls:
            page = await tls.get(back.headers["location"])
        code, out, err = await finish(proc)
    finally:
        await browser.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, err
    tokens = json.loads(out)
    assert tokens["access_token"].startswith("ory_at_") and tokens["id_token"].count(".") == 2
    assert_result_page(page, tokens)
    assert "Back to Welcome Page" not in page.text  # only under --no-shutdown


async def test_builtin_login_consent_skip_and_new_state_per_sign_in(server, make_client):
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    client = await make_client(grant_types=["authorization_code", "refresh_token"], scope="openid offline",
                               redirect_uris=[f"{ui}/callback"])
    with run_server(server.dsn, URLS_LOGIN=f"{ui}/login", URLS_CONSENT=f"{ui}/consent") as srv:
        proc, url = await start(srv, client, port, "--no-shutdown", "--skip", "--format", "json",
                                "--admin-endpoint", srv.admin_url)
        http = httpx.AsyncClient(timeout=30)  # one browser: hydralite's session cookie makes the steps skippable
        try:
            # first sign-in: the command's own login and consent forms, submitted as a browser would
            assert (await http.get(f"{ui}/perform-flow")).headers["location"] == url
            to_login = await http.get(url)
            assert to_login.headers["location"].startswith(f"{ui}/login?login_challenge=")
            login = await http.get(to_login.headers["location"])
            assert login.status_code == 200 and "User unknown." in login.text
            form = {**fields(login.text), "username": ["cli-ui@example.com"], "action": ["accept"]}
            assert form["remember"] == ["on"]
            to_consent = await http.get((await http.post(f"{ui}/login", data=form)).headers["location"])
            assert to_consent.headers["location"].startswith(f"{ui}/consent?consent_challenge=")
            consent = await http.get(to_consent.headers["location"])
            assert consent.status_code == 200 and "No previous matching consent found" in consent.text
            form = {**fields(consent.text), "action": ["accept"]}
            assert sorted(form["scope"]) == ["offline", "openid"]
            back = await http.get((await http.post(f"{ui}/consent", data=form)).headers["location"])
            assert back.status_code == 303 and back.headers["location"].startswith(f"{ui}/callback?")
            first_page = await http.get(back.headers["location"])
            first = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
            assert_result_page(first_page, first)

            # second sign-in: new state, nonce and PKCE; --skip accepts both skippable steps without a form
            again = (await http.get(f"{ui}/perform-flow")).headers["location"]
            for name in ("state", "nonce", "code_challenge"):
                assert query(again)[name] != query(url)[name], name
            to_login = await http.get(again)
            skipped = await http.get(to_login.headers["location"])
            assert skipped.status_code == 302 and skipped.headers["location"].startswith(srv.public_url)
            to_consent = await http.get(skipped.headers["location"])
            skipped = await http.get(to_consent.headers["location"])
            assert skipped.status_code == 302 and skipped.headers["location"].startswith(srv.public_url)
            back = await http.get(skipped.headers["location"])
            assert query(back.headers["location"])["state"] == query(again)["state"]
            second_page = await http.get(back.headers["location"])
            second = json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30))
            assert_result_page(second_page, second)
            assert proc.returncode is None  # still serving
        finally:
            await http.aclose()
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            infos = [(await admin.post("/admin/oauth2/introspect", data={"token": t["access_token"]})).json()
                     for t in (first, second)]
    assert first["access_token"] != second["access_token"]
    for info in infos:  # the subject typed in the form; the session the command's consent step grants
        assert info["active"] and info["sub"] == "cli-ui@example.com" and info["ext"] == {"foo": "bar"}


async def test_without_skip_the_login_form_says_it_could_skip(server, make_client):
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    client = await make_client(grant_types=["authorization_code"], scope="openid", redirect_uris=[f"{ui}/callback"])
    with run_server(server.dsn, URLS_LOGIN=f"{ui}/login", URLS_CONSENT=f"{ui}/consent") as srv:
        proc, url = await start(srv, client, port, "--no-shutdown", "--scope", "openid",
                                "--admin-endpoint", srv.admin_url)
        http = httpx.AsyncClient(timeout=30)
        try:
            login = await http.get((await http.get(url)).headers["location"])
            form = {**fields(login.text), "username": ["no-skip@example.com"], "action": ["accept"]}
            consent = await http.get((await http.get((await http.post(f"{ui}/login", data=form))
                                                     .headers["location"])).headers["location"])
            back = await http.post(f"{ui}/consent", data={**fields(consent.text), "action": ["accept"]})
            done = await http.get((await http.get(back.headers["location"])).headers["location"])
            assert done.status_code == 200 and "Access Token" in done.text
            # the same browser again: hydralite marks the login skippable, but without --skip the form is shown
            login = await http.get((await http.get(
                (await http.get(f"{ui}/perform-flow")).headers["location"])).headers["location"])
            assert login.status_code == 200 and "user authenticated, could skip login UI." in login.text
            assert "no-skip@example.com" in unescape(login.text)  # the request's JSON names the subject
            denied = await http.post(f"{ui}/login", data={**fields(login.text), "action": ["deny"]})
            assert denied.status_code == 302
            bad = await http.post(f"{ui}/login", data={"ls": ["x"], "action": ["maybe"]})
            assert bad.status_code == 400
            unknown = await http.get(f"{ui}/login", params={"login_challenge": "not-a-challenge"})
            assert unknown.status_code == 500 and "An error occurred" in unknown.text
        finally:
            await http.aclose()
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
