"""CORS as a browser sees it (serve.public.cors.*, serve.admin.cors.*, a client's allowed_cors_origins), over real
sockets: preflights answered by the middleware with Hydra's headers, actual requests from allowed origins get
Allow-Origin/-Credentials/Expose-Headers, every other origin gets no CORS headers at all."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server, basic, run_server

APP = "https://app.example.com"
ADMIN_APP = "https://console.example.com"
SPA = "https://spa.client-owned.test"
EXPOSED = "Cache-Control, Expires, Last-Modified, Pragma, Content-Length, Content-Language, Content-Type"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-max-age", "access-control-expose-headers")


@pytest.fixture(scope="module")
async def cors_server(postgres, template_db) -> AsyncIterator[Server]:
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, SERVE_PUBLIC_CORS_ENABLED="true",
                    SERVE_PUBLIC_CORS_ALLOWED_ORIGINS=json.dumps([APP, "https://*.example.org", "https://*foo.com"]),
                    SERVE_PUBLIC_CORS_MAX_AGE="600",
                    SERVE_ADMIN_CORS_ENABLED="true", SERVE_ADMIN_CORS_ALLOWED_ORIGINS=ADMIN_APP) as srv:
        yield srv


@pytest.fixture
async def cpublic(cors_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cors_server.public_url, timeout=30) as client:
        yield client


@pytest.fixture
async def cadmin(cors_server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cors_server.admin_url, timeout=30) as client:
        yield client


async def new_client(admin: httpx.AsyncClient, **fields: Any) -> dict:
    fields.setdefault("client_secret", "a-good-secret-0123456789")
    fields.setdefault("grant_types", ["client_credentials"])
    fields.setdefault("scope", "api")
    r = await admin.post("/admin/clients", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


async def preflight(http: httpx.AsyncClient, path: str, origin: str, method: str = "POST",
                    headers: str = "authorization,content-type") -> httpx.Response:
    return await http.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                             "Access-Control-Request-Headers": headers})


def no_cors(r: httpx.Response) -> bool:
    return not any(h in r.headers for h in CORS_HEADERS)


async def test_preflight_from_an_allowed_origin(cpublic):
    r = await preflight(cpublic, "/oauth2/token", APP)
    assert r.status_code == 204 and r.content == b""  # answered by the middleware: the endpoint only takes POST
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-allow-methods"] == "POST"
    assert r.headers["access-control-allow-headers"] == "authorization,content-type"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "600"
    assert r.headers["vary"] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    assert "access-control-expose-headers" not in r.headers


async def test_actual_request_from_an_allowed_origin(cpublic, cadmin):
    client = await new_client(cadmin)
    r = await cpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                           headers={"Origin": APP, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == EXPOSED
    assert r.headers["vary"] == "Origin"
    assert "access-control-allow-methods" not in r.headers and "access-control-max-age" not in r.headers


async def test_another_origin_gets_no_cors_headers(cpublic, cadmin):
    other = "https://evil.example.net"
    r = await preflight(cpublic, "/oauth2/token", other)
    assert r.status_code == 204 and no_cors(r), r.headers
    client = await new_client(cadmin)
    r = await cpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                           headers={"Origin": other, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 200 and no_cors(r), r.headers  # the endpoint still answers; the browser hides it
    assert r.headers["vary"] == "Origin"
    r = await cpublic.get("/.well-known/openid-configuration", headers={"Origin": other})
    assert r.status_code == 200 and no_cors(r)


@pytest.mark.parametrize(("origin", "allowed"), [
    ("https://a.example.org", True),
    ("https://a.b.example.org", True),  # ory/x CheckOrigin: prefix and suffix around the one wildcard
    ("https://example.org", False),
    ("https://evilexample.org", False),
    ("http://a.example.org", False),
    ("https://a.example.org.evil.net", False),
    ("https://barfoo.com", False),  # https://*foo.com is an unbounded wildcard: ignored, as Hydra does
])
async def test_wildcard_origins(cpublic, origin, allowed):
    r = await preflight(cpublic, "/userinfo", origin, method="GET", headers="authorization")
    assert (r.headers.get("access-control-allow-origin") == origin) is allowed
    r = await cpublic.get("/.well-known/jwks.json", headers={"Origin": origin})
    assert r.status_code == 200 and (r.headers.get("access-control-allow-origin") == origin) is allowed


async def test_preflight_asking_for_a_header_or_method_not_allowed(cpublic):
    r = await preflight(cpublic, "/oauth2/token", APP, headers="authorization,x-custom")
    assert r.status_code == 204 and no_cors(r)
    r = await preflight(cpublic, "/oauth2/token", APP, method="PROPFIND")
    assert r.status_code == 204 and no_cors(r)
    r = await preflight(cpublic, "/no/such/path", APP, method="GET", headers="")
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == APP


async def test_a_clients_allowed_cors_origins_on_the_oauth2_endpoints(cpublic, cadmin):
    spa = await new_client(cadmin, allowed_cors_origins=[SPA], scope="api openid")
    other = await new_client(cadmin)
    for client, allowed in ((spa, True), (other, False)):
        # client_secret_basic: the client is the Basic user.
        r = await cpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                               headers={"Origin": SPA, **basic(client["client_id"], client["client_secret"])})
        assert r.status_code == 200, r.text
        assert (r.headers.get("access-control-allow-origin") == SPA) is allowed
        assert (r.headers.get("access-control-allow-credentials") == "true") is allowed
        token = r.json()["access_token"]
        # The revocation endpoint reads the client the same way.
        r = await cpublic.post("/oauth2/revoke", data={"token": token},
                               headers={"Origin": SPA, **basic(client["client_id"], client["client_secret"])})
        assert r.status_code == 200 and (r.headers.get("access-control-allow-origin") == SPA) is allowed
    # client_secret_post: the client_id comes from the form (the body still reaches the endpoint intact).
    post = await new_client(cadmin, allowed_cors_origins=[SPA], token_endpoint_auth_method="client_secret_post")
    r = await cpublic.post("/oauth2/token", headers={"Origin": SPA},
                           data={"grant_type": "client_credentials", "client_id": post["client_id"],
                                 "client_secret": post["client_secret"]})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == SPA
    # Only on the OAuth2 endpoints: the same origin elsewhere, and any preflight (Hydra's outer middleware answers
    # those from the global list alone), gets nothing.
    r = await cpublic.get("/health/alive", headers={"Origin": SPA, **basic(spa["client_id"], spa["client_secret"])})
    assert r.status_code == 200 and no_cors(r)
    r = await preflight(cpublic, "/oauth2/token", SPA)
    assert no_cors(r)


async def test_a_clients_allowed_cors_origins_at_userinfo_through_its_bearer_token(cpublic, cadmin):
    spa = await new_client(cadmin, allowed_cors_origins=[SPA])
    r = await cpublic.post("/oauth2/token", data={"grant_type": "client_credentials"},
                           headers=basic(spa["client_id"], spa["client_secret"]))
    token = r.json()["access_token"]
    r = await cpublic.get("/userinfo", headers={"Origin": SPA, "Authorization": f"Bearer {token}"})
    assert r.headers.get("access-control-allow-origin") == SPA  # whatever userinfo says of a machine token
    r = await cpublic.get("/userinfo", headers={"Origin": SPA, "Authorization": "Bearer ory_at_not-a-token.x"})
    assert r.status_code == 401 and no_cors(r)


async def test_admin_cors_off_by_default(server, admin):
    r = await preflight(admin, "/admin/clients", ADMIN_APP, method="GET", headers="")
    assert no_cors(r) and "vary" not in r.headers
    r = await admin.get("/admin/clients", headers={"Origin": ADMIN_APP})
    assert r.status_code == 200 and no_cors(r) and "vary" not in r.headers


async def test_public_cors_off_by_default(server, public):
    r = await public.get("/.well-known/openid-configuration", headers={"Origin": APP})
    assert r.status_code == 200 and no_cors(r) and "vary" not in r.headers


async def test_admin_cors_when_configured(cadmin):
    r = await preflight(cadmin, "/admin/clients", ADMIN_APP, method="GET", headers="content-type")
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ADMIN_APP
    assert "access-control-max-age" not in r.headers  # max_age 0: no header
    r = await cadmin.get("/admin/clients", headers={"Origin": ADMIN_APP})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ADMIN_APP
    assert r.headers["access-control-expose-headers"] == EXPOSED
    r = await cadmin.get("/admin/clients", headers={"Origin": APP})  # the public port's origin is not the admin's
    assert r.status_code == 200 and no_cors(r)


async def test_no_cors_on_the_authorization_endpoint(cpublic):
    """RFC 9700 §2.6: the authorization endpoint is navigated to, never fetched; even an allowed origin gets no
    CORS headers there (differs from Hydra, whose CORS middleware wraps every public route)."""
    r = await preflight(cpublic, "/oauth2/auth", APP, method="GET", headers="content-type")
    assert r.status_code == 204 and no_cors(r), r.headers
    for path in ("/oauth2/auth", "/oauth2/auth/"):
        r = await cpublic.get(path, params={"client_id": "nobody", "response_type": "code"}, headers={"Origin": APP})
        assert r.status_code == 400 and no_cors(r), r.headers
    r = await cpublic.post("/oauth2/auth", data={"client_id": "nobody"}, headers={"Origin": APP})
    assert r.status_code == 400 and no_cors(r), r.headers
    r = await preflight(cpublic, "/oauth2/token", APP)  # the rest of the port keeps its CORS
    assert r.headers["access-control-allow-origin"] == APP
