"""Testing your own API with hydralite: copy this file and pytest.ini (`pip install hydralite` brings the plugin).

`hydralite_server` serves hydralite once per session (embedded PostgreSQL, free loopback ports); `hydralite`
creates clients, gets tokens and signs users in without a browser, and deletes its clients after each test.
"""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hydralite.guard import BearerGuard


def orders_api(admin_url: str) -> BearerGuard:
    """The API under test: GET /orders needs a token with the `orders.read` scope."""

    async def orders(request: Request) -> JSONResponse:
        token = request.state.token  # the introspection answer
        return JSONResponse({"client_id": token["client_id"], "sub": token["sub"], "orders": []})

    return BearerGuard(Starlette(routes=[Route("/orders", orders)]), admin_url=admin_url, scopes=["orders.read"])


@pytest.fixture
def api(hydralite_server):
    return orders_api(hydralite_server.admin_url)


def test_machine_client_token(hydralite):
    client = hydralite.create_client(scope="orders.read")
    token = hydralite.client_credentials_token(client, scope="orders.read")
    assert token["expires_in"] == 600  # ttl.access_token from pytest.ini
    assert hydralite.introspect(token["access_token"])["client_id"] == client["client_id"]
    hydralite.revoke(token["access_token"])
    assert hydralite.introspect(token["access_token"]) == {"active": False}


async def test_api_with_a_token(hydralite_async, api):
    client = await hydralite_async.create_client(scope="orders.read")
    token = (await hydralite_async.client_credentials_token(client, scope="orders.read"))["access_token"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api.test") as http:
        ok = await http.get("/orders", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert ok.json()["client_id"] == client["client_id"]
        refused = await http.get("/orders")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"


async def test_api_refuses_a_token_without_the_scope(hydralite, api):
    client = hydralite.create_client(scope="profile")  # the sync helpers work in async tests too
    token = hydralite.client_credentials_token(client, scope="profile")["access_token"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api.test") as http:
        response = await http.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_user_signs_in_without_a_browser(hydralite_async, api):
    client = await hydralite_async.create_client(scope="openid offline_access orders.read")
    tokens = await hydralite_async.sign_in(client, subject="alice@example.com",
                                           scopes=["openid", "offline_access", "orders.read"])
    assert {"access_token", "refresh_token", "id_token"} <= tokens.keys()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api.test") as http:
        response = await http.get("/orders", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice@example.com"


def test_sign_in_can_stop_at_the_code(hydralite):
    client = hydralite.create_client(scope="openid")
    callback = hydralite.sign_in(client, subject="bob", scopes="openid", exchange=False)
    assert callback["code"].startswith("ory_ac_")
    tokens = hydralite.token(client, grant_type="authorization_code", code=callback["code"],
                             redirect_uri=callback["redirect_uri"], code_verifier=callback["code_verifier"])
    assert hydralite.introspect(tokens["access_token"])["sub"] == "bob"


def test_a_client_made_behind_the_fixtures_back(hydralite):
    # Made with the raw admin API, so the fixture does not delete it: the next test starts with a reset.
    assert hydralite.admin.post("/admin/clients", json={"client_name": "left-over"}).status_code == 201


@pytest.mark.hydralite_reset  # empties the tables before the test (or call hydralite.reset() at any point)
def test_reset_starts_from_an_empty_server(hydralite):
    assert hydralite.admin.get("/admin/clients").json() == []
    hydralite.create_client()
    assert len(hydralite.admin.get("/admin/clients").json()) == 1
