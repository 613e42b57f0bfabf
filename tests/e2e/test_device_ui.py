"""The device flow through the example UI's pages (as `make run` serves them), device codes that expire (a server
with a 5s ttl.device_user_code), and the janitor removing expired device requests."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import ROOT, Server, free_port, run_server
from tests.e2e.test_ui import DEMO, assert_secure, hidden, running_ui

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class Setup:
    server: Server
    ui: str
    admin: httpx.AsyncClient
    public: httpx.AsyncClient


@pytest.fixture(scope="module")
async def setup(postgres, template_db) -> AsyncIterator[Setup]:
    """Every browser page at the example UI, served in this process; device codes live 5 seconds."""
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    pages = {f"URLS_{k.upper()}": f"{ui}/{k}" for k in ("login", "consent", "logout")}
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, **pages, URLS_DEVICE_VERIFICATION=f"{ui}/device", URLS_DEVICE_SUCCESS=f"{ui}/device/done",
                    TTL_DEVICE_USER_CODE="5s", OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL="1s") as srv:
        async with running_ui(port, srv.admin_url) as url, \
                httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin, \
                httpx.AsyncClient(base_url=srv.public_url, timeout=30) as public:
            yield Setup(srv, url, admin, public)


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


async def new_client(setup: Setup) -> dict:
    response = await setup.admin.post("/admin/clients", json={"grant_types": [GRANT, "refresh_token"],
                                                              "scope": "openid offline_access",
                                                              "token_endpoint_auth_method": "none"})
    assert response.status_code == 201, response.text
    return response.json()


async def codes(setup: Setup, client: dict) -> dict:
    response = await setup.public.post("/oauth2/device/auth", data={"client_id": client["client_id"],
                                                                    "scope": "openid offline_access"})
    assert response.status_code == 200, response.text
    return response.json()


async def poll(setup: Setup, client: dict, device_code: str) -> httpx.Response:
    return await setup.public.post("/oauth2/token", data={"grant_type": GRANT, "device_code": device_code,
                                                          "client_id": client["client_id"]})


async def submit(browser: httpx.AsyncClient, setup: Setup, path: str, page: httpx.Response, **fields) -> httpx.Response:
    data = {"challenge": hidden(page.text, "challenge"), "csrf": hidden(page.text, "csrf"), **fields}
    response = await browser.post(f"{setup.ui}{path}", data=data)
    assert_secure(response)
    return response


async def follow(browser: httpx.AsyncClient, url: str, setup: Setup, path: str) -> httpx.Response:
    """GET a hydralite URL that must redirect to the UI's `path`, then the UI page."""
    response = await browser.get(url)
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(f"{setup.ui}{path}"), response.headers["location"]
    return await browser.get(response.headers["location"])


async def test_device_pages_of_the_example_ui(setup, browser):
    client = await new_client(setup)
    device = await codes(setup, client)
    page = await follow(browser, device["verification_uri"], setup, "/device?")
    assert page.status_code == 200 and 'name="user_code" value=""' in page.text
    assert_secure(page)
    wrong = await submit(browser, setup, "/device", page, user_code="nope-nope")
    assert wrong.status_code == 200 and "That code is not valid" in wrong.text  # the form again, with the error
    # the complete URI carries the code into the form; the code is typed in other case with a separator
    page = await follow(browser, device["verification_uri_complete"], setup, "/device?")
    assert f'name="user_code" value="{device["user_code"]}"' in page.text
    typed = device["user_code"].swapcase()
    accepted = await submit(browser, setup, "/device", page, user_code=f"{typed[:4]}-{typed[4:]}")
    assert accepted.status_code == 303, accepted.text
    login = await follow(browser, accepted.headers["location"], setup, "/login?")
    signed_in = await submit(browser, setup, "/login", login, **DEMO, action="accept")
    assert signed_in.status_code == 303, signed_in.text
    consent = await follow(browser, signed_in.headers["location"], setup, "/consent?")
    assert 'value="openid"' in consent.text and 'value="offline_access"' in consent.text
    allowed = await submit(browser, setup, "/consent", consent, grant_scope=["openid", "offline_access"],
                           action="accept")
    assert allowed.status_code == 303, allowed.text
    done = await follow(browser, allowed.headers["location"], setup, "/device/done?")
    assert done.status_code == 200 and "Your device is signed in" in done.text and client["client_id"] in done.text
    tokens = await poll(setup, client, device["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens.json())


async def test_device_code_expires(setup, browser):
    client = await new_client(setup)
    device = await codes(setup, client)
    assert device["expires_in"] == 5
    await asyncio.sleep(5.2)
    expired = await poll(setup, client, device["device_code"])
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token", expired.text
    page = await follow(browser, device["verification_uri_complete"], setup, "/device?")
    late = await submit(browser, setup, "/device", page, user_code=device["user_code"])
    assert late.status_code == 200 and "That code is not valid" in late.text


async def test_janitor_removes_expired_device_requests(setup):
    client = await new_client(setup)
    await codes(setup, client)

    async def count(client_id: str) -> int:
        conn = await asyncpg.connect(setup.server.dsn)
        try:
            return await conn.fetchval("SELECT count(*) FROM hydralite_device_code WHERE client_id = $1", client_id)
        finally:
            await conn.close()

    assert await count(client["client_id"]) == 1
    await asyncio.sleep(5.2)
    live = await new_client(setup)
    await codes(setup, live)  # made after the sleep: still valid when the janitor runs
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hydralite", "janitor", setup.server.dsn],
                                     capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "expired device codes: deleted" in result.stderr
    assert await count(client["client_id"]) == 0
    assert await count(live["client_id"]) == 1
