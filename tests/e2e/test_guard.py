"""hydralite.guard against a real server: RFC 6750 §3 answers for every kind of bad request, and the
introspection cache (requests counted both at the guard's transport and in the server's own metrics)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hydralite.guard import BearerGuard, Introspector, RequireToken
from tests.conftest import free_port

INVALID = ('Bearer error="invalid_token", '
           'error_description="The access token is not active (expired, revoked or unknown)."')


class Counting(httpx.AsyncBaseTransport):
    """Counts the requests the guard sends to the admin API."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _whoami(request: Request) -> JSONResponse:
    token: dict[str, Any] = request.state.token
    return JSONResponse({"client_id": token["client_id"], "sub": token["sub"], "scope": token.get("scope")})


class Api:
    """A Starlette API behind BearerGuard, called in-process; its introspection requests are counted."""

    def __init__(self, admin_url: str, **options: Any):
        self.transport = Counting()
        self.introspector = Introspector(admin_url, client=httpx.AsyncClient(transport=self.transport, timeout=10))
        app = Starlette(routes=[Route("/whoami", _whoami), Route("/health", lambda r: JSONResponse({}))])
        self.app = BearerGuard(app, introspector=self.introspector, exempt=["/health"], **options)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://api.test")

    async def get(self, token: str | None = None, path: str = "/whoami", **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.get(path, headers=headers, **kwargs)

    async def close(self) -> None:
        await self.http.aclose()
        await self.introspector._http().aclose()


@pytest.fixture
async def api(server):
    made: list[Api] = []

    def make(**options: Any) -> Api:
        made.append(Api(server.admin_url, **options))
        return made[-1]

    yield make
    for a in made:
        await a.close()


async def token_for(public: httpx.AsyncClient, client: dict, **form: str) -> str:
    response = await public.post("/oauth2/token", data={"grant_type": "client_credentials", **form},
                                 auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def introspections_seen_by_server(admin: httpx.AsyncClient) -> float:
    text = (await admin.get("/admin/metrics/prometheus")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("http_requests_total{") and 'endpoint="/admin/oauth2/introspect"' in line)


async def test_a_good_token_passes_and_lands_in_request_state(api, make_client, public):
    client = await make_client(scope="read write")
    guarded = api(scopes=["read"])
    response = await guarded.get(await token_for(public, client, scope="read write"))
    assert response.status_code == 200, response.text
    assert response.json() == {"client_id": client["client_id"], "sub": client["client_id"], "scope": "read write"}
    assert (await guarded.get(path="/health")).status_code == 200  # exempt path, no token


@pytest.mark.parametrize("headers, params", [
    ({}, {}),
    ({"Authorization": "Basic Zm9vOmJhcg=="}, {}),  # another scheme: no Bearer credentials at all
    ({}, {"access_token": "ory_at_abc"}),  # the URI query method (§2.3) is not accepted
])
async def test_no_credentials_is_401_without_an_error_code(api, headers, params):
    guarded = api()
    response = await guarded.get(headers=headers, params=params)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.content == b""
    realm = await api(realm="orders").get()
    assert realm.headers["www-authenticate"] == 'Bearer realm="orders"'
    assert guarded.transport.count == 0


@pytest.mark.parametrize("value", ["Bearer", "Bearer   ", "Bearer two words", "Bearer bad@chars", "Bearer =abc"])
async def test_a_malformed_bearer_header_is_400_invalid_request(api, value):
    guarded = api()
    response = await guarded.get(headers={"Authorization": value})
    assert response.status_code == 400
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_request", error_description="')
    assert response.json()["error"] == "invalid_request"
    assert guarded.transport.count == 0


async def test_two_headers_or_two_methods_are_400_invalid_request(api):
    guarded = api()
    twice = await guarded.http.get("/whoami", headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    assert twice.status_code == 400
    assert twice.headers["www-authenticate"] == (
        'Bearer error="invalid_request", error_description="The request has more than one Authorization header."')
    both = await guarded.get("ory_at_abc", params={"access_token": "ory_at_abc"})
    assert both.status_code == 400
    assert 'error="invalid_request"' in both.headers["www-authenticate"]
    assert guarded.transport.count == 0


async def test_an_unknown_or_revoked_token_is_401_invalid_token(api, make_client, public, admin):
    guarded = api()
    unknown = await guarded.get("ory_at_not-a-token.anything")
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == INVALID
    assert unknown.json() == {"error": "invalid_token",
                              "error_description": "The access token is not active (expired, revoked or unknown)."}
    client = await make_client()
    token = await token_for(public, client)
    assert (await admin.delete("/admin/oauth2/tokens", params={"client_id": client["client_id"]})).status_code == 204
    revoked = await guarded.get(token)
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == INVALID


async def test_an_expired_token_is_401_invalid_token_even_when_cached(api, make_client, public, admin):
    client = await make_client()
    lifespans = {"client_credentials_grant_access_token_lifespan": "3s"}
    assert (await admin.put(f"/admin/clients/{client['client_id']}/lifespans", json=lifespans)).status_code == 200
    token = await token_for(public, client)
    guarded = api(ttl=3600)
    first = await guarded.get(token)
    assert first.status_code == 200, first.text
    exp = guarded.introspector.cached(token)["exp"]
    while time.time() <= exp + 1.1:  # `exp` is the expiry rounded down to the second
        await asyncio.sleep(0.25)
    assert guarded.introspector.cached(token) is None  # kept until exp, not until ttl
    expired = await guarded.get(token)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == INVALID
    fresh = await api().get(token)  # a guard that never saw it: the server says inactive
    assert fresh.status_code == 401
    assert fresh.headers["www-authenticate"] == INVALID


async def test_missing_scopes_are_403_insufficient_scope(api, make_client, public):
    client = await make_client(scope="read write")
    response = await api(scopes=["read", "write"]).get(await token_for(public, client, scope="read"))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token does not grant the scopes this '
        'resource requires.", scope="read write"')
    assert response.json()["error"] == "insufficient_scope"


async def test_a_token_for_another_audience_is_401_invalid_token(api, make_client, public):
    client = await make_client(audience=["https://orders.example", "https://billing.example"])
    billing = await token_for(public, client, audience="https://billing.example")
    refused = await api(audience="https://orders.example").get(billing)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token is not meant for this resource (audience)."')
    orders = await token_for(public, client, audience="https://orders.example")
    assert (await api(audience=["https://orders.example", "https://alias.example"]).get(orders)).status_code == 200


async def test_a_refresh_token_is_not_a_bearer_token(api, make_client, browser, public):
    redirect = "http://127.0.0.1:5555/cb"
    client = await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                               redirect_uris=[redirect], scope="openid offline_access read")
    code, _ = await browser.code(client, redirect, "openid offline_access read")
    tokens = await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": redirect},
                               auth=(client["client_id"], client["client_secret"]))
    assert tokens.status_code == 200, tokens.text
    guarded = api()
    assert (await guarded.get(tokens.json()["access_token"])).status_code == 200
    refresh = await guarded.get(tokens.json()["refresh_token"])
    assert refresh.status_code == 401
    assert refresh.headers["www-authenticate"] == ('Bearer error="invalid_token", '
                                                   'error_description="The token is not an access token."')


async def test_answers_are_cached_so_the_server_is_asked_once(api, make_client, public, admin):
    client = await make_client()
    token = await token_for(public, client)
    guarded = api()
    before = await introspections_seen_by_server(admin)
    assert (await guarded.get(token)).status_code == 200
    assert (await guarded.get(token)).status_code == 200
    assert guarded.transport.count == 1
    # inactive answers are cached too (briefly)
    assert (await guarded.get("ory_at_unknown.token")).status_code == 401
    assert (await guarded.get("ory_at_unknown.token")).status_code == 401
    assert guarded.transport.count == 2
    assert await introspections_seen_by_server(admin) - before == 2


async def test_concurrent_first_requests_share_one_introspection(api, make_client, public):
    client = await make_client()
    token = await token_for(public, client)
    guarded = api()
    responses = await asyncio.gather(*(guarded.get(token) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert guarded.transport.count == 1


async def test_an_unreachable_admin_api_is_503_not_500():
    app = BearerGuard(Starlette(routes=[Route("/whoami", _whoami)]), admin_url=f"http://127.0.0.1:{free_port()}",
                      timeout=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        response = await http.get("/whoami", headers={"Authorization": "Bearer ory_at_abc"})
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


async def test_require_token_dependency_in_a_starlette_endpoint(server, make_client, public):
    require = RequireToken(admin_url=server.admin_url, scopes=["write"])

    async def endpoint(request: Request) -> JSONResponse:
        token = await require(request)
        assert request.state.token is token
        return JSONResponse({"client_id": token["client_id"]})

    app = Starlette(routes=[Route("/things", endpoint)])
    client = await make_client(scope="read write")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        missing = await http.get("/things")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        read, write = await token_for(public, client, scope="read"), await token_for(public, client, scope="write")
        under = await http.get("/things", headers={"Authorization": f"Bearer {read}"})
        assert under.status_code == 403
        assert under.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
        good = await http.get("/things", headers={"Authorization": f"Bearer {write}"})
        assert good.status_code == 200
        assert good.json() == {"client_id": client["client_id"]}
    await require.guard.introspector.aclose()


class StaleFirstJwks(Counting):
    """Counts JWKS fetches; the first answer is an empty key set, as if the keys rotated after it was fetched."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if self.count == 1:
            await response.aread()
            return httpx.Response(200, json={"keys": []}, request=request)
        return response


async def test_jwt_access_tokens_are_verified_offline_against_the_jwks(server, make_client, public, admin, browser):
    from hydralite.guard import JwksVerifier

    client = await make_client(access_token_strategy="jwt", scope="read write", audience=["https://orders.example"])
    token = await token_for(public, client, scope="read", audience="https://orders.example")
    assert token.count(".") == 2
    fetches = StaleFirstJwks()
    verifier = JwksVerifier(server.public_url + "/.well-known/jwks.json", issuer=server.public_url + "/",
                            refetch_interval=0, client=httpx.AsyncClient(transport=fetches))
    app = BearerGuard(Starlette(routes=[Route("/whoami", _whoami)]), scopes=["read"],
                      audience="https://orders.example", verifier=verifier)
    before = await introspections_seen_by_server(admin)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        async def call(value: str) -> httpx.Response:
            return await http.get("/whoami", headers={"Authorization": f"Bearer {value}"})

        ok = await call(token)  # unknown kid in the (empty) first key set: fetched again
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"client_id": client["client_id"], "sub": client["client_id"], "scope": "read"}
        assert (await call(token)).status_code == 200
        assert fetches.count == 2
        head, body, signature = token.split(".")
        tampered = await call(f"{head}.{body}.{signature[:-4]}AAAA")
        assert tampered.status_code == 401
        assert tampered.headers["www-authenticate"] == INVALID
        under = await call(await token_for(public, client, scope="write", audience="https://orders.example"))
        assert under.status_code == 403
        other = await call(await token_for(public, client, scope="read"))  # no audience requested
        assert other.status_code == 401
        assert (await call("ory_at_opaque.token")).status_code == 401  # no admin_url: opaque tokens are refused
        # an ID token verifies with the same JWKS but is not an access token
        redirect = "http://127.0.0.1:5555/cb"
        web = await make_client(access_token_strategy="jwt", grant_types=["authorization_code"],
                                response_types=["code"], redirect_uris=[redirect], scope="openid read")
        code, _ = await browser.code(web, redirect, "openid read")
        tokens = (await public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                           "redirect_uri": redirect},
                                    auth=(web["client_id"], web["client_secret"]))).json()
        assert (await call(tokens["id_token"])).status_code == 401
    assert await introspections_seen_by_server(admin) == before  # nothing reached the introspection endpoint
    assert fetches.count == 2
