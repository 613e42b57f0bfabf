"""The example login/consent/logout app over real sockets: hydralite redirects a cookie-keeping
HTTP client to the app, the test submits the app's forms as a browser would, and the client
ends up with a code; plus escaping, security headers, CSRF and the admin-error pages."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ROOT, SCRATCH, Server, basic, free_port, run_server, wait_ready
from tests.e2e.browser import query

DEMO = {"email": "foo@bar.com", "password": "foobar"}


@dataclass
class Setup:
    server: Server
    ui: str
    admin: httpx.AsyncClient


@contextlib.asynccontextmanager
async def running_ui(port: int, admin_url: str) -> AsyncIterator[str]:
    """The app served by Hypercorn in this process (as `serve all --dev` embeds it) until the block ends."""
    from hydralite.ui.app import serve_ui

    stop = asyncio.Event()
    task = asyncio.create_task(serve_ui("127.0.0.1", port, admin_url, stop.wait))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=30) as probe:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get(url)).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def ui_urls(port: int) -> dict[str, str]:
    return {f"URLS_{k.upper()}": f"http://127.0.0.1:{port}/{k}" for k in ("login", "consent", "logout")}


@pytest.fixture(scope="module")
async def setup(postgres, template_db) -> AsyncIterator[Setup]:
    """A server whose login/consent/logout URLs point at the app, and the app served in this process."""
    port = free_port()
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, **ui_urls(port)) as srv:
        async with running_ui(port, srv.admin_url) as ui, \
                httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            yield Setup(srv, ui, admin)


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


async def make_client(setup: Setup, **fields) -> dict:
    fields = {"grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
              "redirect_uris": [f"http://127.0.0.1:{free_port()}/cb"], "scope": "openid offline_access email profile",
              "client_secret": "a-good-secret-0123", **fields}
    response = await setup.admin.post("/admin/clients", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def auth_url(setup: Setup, client: dict, scope: str, **extra: str) -> str:
    params = {"client_id": client["client_id"], "response_type": "code", "scope": scope,
              "redirect_uri": client["redirect_uris"][0], "state": "state-0123456789", **extra}
    return f"{setup.server.public_url}/oauth2/auth?{urlencode(params)}"


def assert_secure(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, page
    return html.unescape(match.group(1))


async def to_ui(browser: httpx.AsyncClient, url: str, setup: Setup, path: str) -> httpx.Response:
    """GET a hydralite URL that must redirect to the app's `path`; return the app's answer."""
    response = await browser.get(url)
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(f"{setup.ui}{path}?"), response.headers["location"]
    page = await browser.get(response.headers["location"])
    assert_secure(page)
    return page


async def submit(browser: httpx.AsyncClient, setup: Setup, path: str, page: httpx.Response, **fields) -> httpx.Response:
    data = {"challenge": hidden(page.text, "challenge"), "csrf": hidden(page.text, "csrf"), **fields}
    response = await browser.post(f"{setup.ui}{path}", data=data)
    assert_secure(response)
    return response


async def sign_in(browser, setup, client, scope, remember="1", grant=None) -> dict[str, str]:
    """The whole browser part through the app's forms; return the client's callback parameters."""
    form = await to_ui(browser, auth_url(setup, client, scope), setup, "/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    done = await submit(browser, setup, "/login", form, **DEMO, remember=remember, action="accept")
    assert done.status_code == 303, done.text
    consent = await to_ui(browser, done.headers["location"], setup, "/consent")
    assert consent.status_code == 200 and "Remember my decision" in consent.text
    for s in scope.split():
        assert f'name="grant_scope" value="{s}"' in consent.text
    granted = await submit(browser, setup, "/consent", consent, grant_scope=grant or scope.split(),
                           remember=remember, action="accept")
    assert granted.status_code == 303, granted.text
    final = await browser.get(granted.headers["location"])
    assert final.status_code == 303, final.text
    assert final.headers["location"].startswith(client["redirect_uris"][0])
    return query(final.headers["location"])


async def exchange(setup: Setup, client: dict, code: str) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{setup.server.public_url}/oauth2/token",
                                   data={"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": client["redirect_uris"][0]},
                                   headers=basic(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text + setup.server.log()[-3000:]
    return response.json()


async def consent_session(setup: Setup, client: dict) -> dict:
    """The newest consent session the app granted to `client`, as the admin API lists it."""
    response = await setup.admin.get("/admin/oauth2/auth/sessions/consent", params={"subject": "foo@bar.com"})
    assert response.status_code == 200, response.text
    mine = [s for s in response.json() if s["consent_request"]["client"]["client_id"] == client["client_id"]]
    assert mine, response.text
    return max(mine, key=lambda s: s["handled_at"])


async def test_full_flow_then_remembered_login_and_consent_are_skipped(setup, browser):
    client = await make_client(setup)
    params = await sign_in(browser, setup, client, "offline_access email")
    assert params["state"] == "state-0123456789" and params["scope"] == "offline_access email"
    tokens = await exchange(setup, client, params["code"])
    assert tokens["access_token"].startswith("ory_at_") and tokens["refresh_token"].startswith("ory_rt_")
    info = (await setup.admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})).json()
    assert info["active"] and info["sub"] == "foo@bar.com"
    granted = await consent_session(setup, client)
    assert granted["session"]["id_token"] == {"email": "foo@bar.com", "email_verified": True}
    assert granted["remember"] is True and granted["remember_for"] == 3600
    assert granted["grant_scope"] == ["offline_access", "email"]

    # Remembered: the app accepts the login at once (303, no form) and the consent is skipped too.
    first = await browser.get(auth_url(setup, client, "email"))
    login = await browser.get(first.headers["location"])
    assert login.status_code == 303 and "login_verifier=" in login.headers["location"]
    assert_secure(login)
    consent_redirect = await browser.get(login.headers["location"])
    consent = await browser.get(consent_redirect.headers["location"])
    assert consent.status_code == 303 and "consent_verifier=" in consent.headers["location"]
    final = await browser.get(consent.headers["location"])
    assert final.status_code == 303 and "code=" in final.headers["location"]
    assert (await exchange(setup, client, query(final.headers["location"])["code"]))["scope"] == "email"


async def test_unticked_email_scope_is_not_granted_and_adds_no_email_claim(setup, browser):
    client = await make_client(setup)
    params = await sign_in(browser, setup, client, "offline_access email", remember="", grant=["offline_access"])
    assert params["scope"] == "offline_access"
    granted = await consent_session(setup, client)
    assert granted["session"]["id_token"] == {} and granted["remember"] is False


async def test_wrong_password_shows_the_form_again_then_deny_reaches_the_client(setup, browser):
    client = await make_client(setup)
    form = await to_ui(browser, auth_url(setup, client, "openid"), setup, "/login")
    wrong = await submit(browser, setup, "/login", form, email="foo@bar.com", password="nope", action="accept")
    assert wrong.status_code == 200 and "location" not in wrong.headers
    assert "email address or password is wrong" in wrong.text and hidden(wrong.text, "email") == "foo@bar.com"
    denied = await submit(browser, setup, "/login", wrong, action="deny")
    assert denied.status_code == 303
    final = await browser.get(denied.headers["location"])
    assert final.status_code == 303 and query(final.headers["location"])["error"] == "access_denied"


async def test_consent_deny_reaches_the_client(setup, browser):
    client = await make_client(setup)
    form = await to_ui(browser, auth_url(setup, client, "openid"), setup, "/login")
    done = await submit(browser, setup, "/login", form, **DEMO, action="accept")
    consent = await to_ui(browser, done.headers["location"], setup, "/consent")
    denied = await submit(browser, setup, "/consent", consent, action="deny")
    final = await browser.get(denied.headers["location"])
    assert query(final.headers["location"])["error"] == "access_denied"


async def test_skip_consent_client_is_accepted_without_a_page(setup, browser):
    client = await make_client(setup, skip_consent=True)
    form = await to_ui(browser, auth_url(setup, client, "offline_access email"), setup, "/login")
    done = await submit(browser, setup, "/login", form, **DEMO, action="accept")
    consent = await to_ui(browser, done.headers["location"], setup, "/consent")
    assert consent.status_code == 303
    final = await browser.get(consent.headers["location"])
    assert query(final.headers["location"])["scope"] == "offline_access email"
    assert (await consent_session(setup, client))["session"]["id_token"]["email"] == "foo@bar.com"


async def test_values_from_the_request_are_escaped(setup, browser):
    client = await make_client(setup, client_name='<script>alert("x")</script>', scope="openid a<b>&c'")
    form = await to_ui(browser, auth_url(setup, client, "openid a<b>&c'", login_hint='"><img src=x>'),
                       setup, "/login")
    assert "<script>" not in form.text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in form.text
    assert "<img" not in form.text and 'value="&quot;&gt;&lt;img src=x&gt;"' in form.text
    done = await submit(browser, setup, "/login", form, **DEMO, action="accept")
    consent = await to_ui(browser, done.headers["location"], setup, "/consent")
    assert "<script>" not in consent.text and "<b>" not in consent.text
    assert 'value="a&lt;b&gt;&amp;c&#x27;"' in consent.text
    granted = await submit(browser, setup, "/consent", consent, grant_scope=["openid", "a<b>&c'"], action="accept")
    final = await browser.get(granted.headers["location"])
    assert query(final.headers["location"])["scope"] == "openid a<b>&c'"


async def test_csrf_token_must_match_the_browser_and_the_challenge(setup, browser):
    client = await make_client(setup)
    form = await to_ui(browser, auth_url(setup, client, "openid"), setup, "/login")
    forged = await submit(browser, setup, "/login", form, csrf="0" * 64, **DEMO, action="accept")
    assert forged.status_code == 403 and "location" not in forged.headers
    async with httpx.AsyncClient(timeout=30) as other:  # another browser, with its own cookie
        await to_ui(other, auth_url(setup, client, "openid"), setup, "/login")
        stolen = await submit(other, setup, "/login", form, **DEMO, action="accept")
    assert stolen.status_code == 403
    ok = await submit(browser, setup, "/login", form, **DEMO, action="accept")
    assert ok.status_code == 303


@pytest.mark.parametrize("kind", ["login", "consent", "logout"])
async def test_unknown_and_missing_challenges_are_error_pages(setup, browser, kind):
    unknown = await browser.get(f"{setup.ui}/{kind}", params={f"{kind}_challenge": "no-such-challenge"})
    assert unknown.status_code == 404 and "does not exist" in unknown.text
    assert unknown.headers["content-type"].startswith("text/html") and "Traceback" not in unknown.text
    assert_secure(unknown)
    missing = await browser.get(f"{setup.ui}/{kind}")
    assert missing.status_code == 400 and f"{kind}_challenge" in missing.text
    assert_secure(missing)


async def test_handled_login_request_is_410_with_a_link_to_start_again(setup, browser):
    client = await make_client(setup)
    url = auth_url(setup, client, "openid")
    form = await to_ui(browser, url, setup, "/login")
    done = await submit(browser, setup, "/login", form, **DEMO, action="accept")
    await to_ui(browser, done.headers["location"], setup, "/consent")  # spends the login verifier
    again = await browser.get(f"{setup.ui}/login", params={"login_challenge": hidden(form.text, "challenge")})
    assert again.status_code == 410 and "already been completed" in again.text
    assert f'href="{html.escape(url)}"' in again.text


async def test_expired_login_request_is_401(postgres, template_db, browser):
    port = free_port()
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, TTL_LOGIN_CONSENT_REQUEST="1s", **ui_urls(port)) as srv:
        async with running_ui(port, srv.admin_url) as ui, \
                httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            setup = Setup(srv, ui, admin)
            client = await make_client(setup)
            start = await browser.get(auth_url(setup, client, "offline_access"))
            assert start.status_code == 302 and start.headers["location"].startswith(f"{ui}/login?")
            await asyncio.sleep(2.1)  # past the 1 s request lifetime
            expired = await browser.get(start.headers["location"])
    assert expired.status_code == 401 and "expired" in expired.text
    assert_secure(expired)


async def test_logout_reject_then_accept(setup, browser):
    client = await make_client(setup)
    await sign_in(browser, setup, client, "openid")
    logout_url = f"{setup.server.public_url}/oauth2/sessions/logout"
    page = await to_ui(browser, logout_url, setup, "/logout")
    assert page.status_code == 200 and "foo@bar.com" in page.text
    stay = await submit(browser, setup, "/logout", page, action="deny")
    assert stay.status_code == 200 and "still signed in" in stay.text

    page = await to_ui(browser, logout_url, setup, "/logout")
    out = await submit(browser, setup, "/logout", page, action="accept")
    assert out.status_code == 303 and "logout_verifier=" in out.headers["location"]
    final = await browser.get(out.headers["location"])
    assert final.status_code == 302 and "/oauth2/fallbacks/logout/callback" in final.headers["location"]
    form = await to_ui(browser, auth_url(setup, client, "openid"), setup, "/login")  # signed out: a form again
    assert form.status_code == 200 and 'type="password"' in form.text


async def test_index_css_and_unknown_paths(setup, browser):
    index = await browser.get(setup.ui)
    assert index.status_code == 200 and "foo@bar.com" in index.text
    assert_secure(index)
    css = await browser.get(f"{setup.ui}/static.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = await browser.get(f"{setup.ui}/nope")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert_secure(missing)


def test_serve_ui_command_reports_an_unreachable_admin_api():
    """`hydralite serve ui` from the environment; a closed admin port is a 502 page, not a traceback; the address it
    serves on is announced once, in hydralite's log format (not again in Hypercorn's)."""
    port = free_port()
    env = {**os.environ, "HYDRALITE_UI_PORT": str(port), "HYDRALITE_ADMIN_URL": f"http://127.0.0.1:{free_port()}"}
    env.pop("SERVE_UI_HOST", None)
    log_path = SCRATCH / f"ui-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "hydralite", "serve", "ui"], env=env, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/", process, log_path)
        response = httpx.get(f"http://127.0.0.1:{port}/login", params={"login_challenge": "abc"}, timeout=10)
        assert response.status_code == 502 and "could not reach" in response.text
        assert_secure(response)
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
        output = log_path.read_text()
        log_path.unlink(missing_ok=True)
    announced = [line for line in output.splitlines() if f"http://127.0.0.1:{port}" in line]
    assert len(announced) == 1 and "Running on" not in output, output


@pytest.mark.parametrize(("name", "value"), [("HYDRALITE_UI_PORT", "abc"), ("HYDRALITE_ADMIN_URL", "localhost:4445")])
def test_serve_ui_command_rejects_bad_settings_in_one_line(name, value):
    env = {**os.environ, name: value}
    done = subprocess.run([sys.executable, "-m", "hydralite", "serve", "ui"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and name in done.stderr and "Traceback" not in done.stderr
