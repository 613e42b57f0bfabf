"""The raw ASGI token and introspection endpoints (web/hot.py) answer as the Starlette routes they stand in front
of: the same refusals for bodies the raw reader handles and those it passes on (multipart), the optional `/admin`
prefix and trailing slash, and a chunked body over the limit refused with 413 (never a 500)."""

from __future__ import annotations

import pytest

from tests.conftest import basic

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOO_LARGE = {"error": "The request body is too large", "error_description": f"The request body must not exceed "
                                                                           f"{1 << 20} bytes."}
# SECURITY.md F3: on OAuth endpoints an oversized form is 413 with RFC 6749's invalid_request.
OAUTH_TOO_LARGE = {"error": "invalid_request", "error_description": (
    "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more "
    f"than once, or is otherwise malformed. The request body is too large: it must not exceed {1 << 20} bytes.")}


@pytest.fixture
async def client(make_client):
    return await make_client()


async def test_token_refusals_match_the_starlette_route(public, client):
    auth = basic(client["client_id"], client["client_secret"])
    raw = await public.post("/oauth2/token", content="grant_type=client_credentials&scope=api&scope=read",
                            headers={**FORM, **auth})
    via_starlette = await public.post("/oauth2/token", headers=auth, files=[
        ("grant_type", (None, "client_credentials")), ("scope", (None, "api")), ("scope", (None, "read"))])
    assert raw.status_code == via_starlette.status_code == 400
    assert raw.json() == via_starlette.json()
    assert raw.json()["error"] == "invalid_request"
    for name in ("cache-control", "pragma", "content-type"):
        assert raw.headers[name] == via_starlette.headers[name], name


async def test_token_with_trailing_slash_is_served(public, client):
    r = await public.post("/oauth2/token/", data={"grant_type": "client_credentials"},
                          headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert int(r.headers["content-length"]) == len(r.content)


async def test_declared_oversized_body_is_413_on_both_ports(public, admin, client):
    big = b"token=" + b"a" * (2 << 20)
    r = await admin.post("/admin/oauth2/introspect", content=big, headers=FORM)
    assert r.status_code == 413 and r.json() == TOO_LARGE
    r = await public.post("/oauth2/token", content=b"grant_type=client_credentials&x=" + b"a" * (2 << 20),
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 413 and r.json() == OAUTH_TOO_LARGE


async def test_chunked_oversized_body_is_413(public, client):
    async def body():
        yield b"grant_type=client_credentials&pad="
        for _ in range(20):
            yield b"a" * 65536

    r = await public.post("/oauth2/token", content=body(),
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 413 and r.json() == OAUTH_TOO_LARGE
    big = b"token=x&pad=" + b"a" * (2 << 20)  # the Starlette-routed OAuth endpoints answer alike
    r = await public.post("/oauth2/revoke", content=big,
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 413 and r.json() == OAUTH_TOO_LARGE


async def test_chunked_form_within_the_limit_is_read_whole(public, admin, client):
    async def body():
        yield b"grant_type=client_"
        yield b"credentials&scope=api"

    r = await public.post("/oauth2/token", content=body(),
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "api"

    async def token_body():
        yield b"tok"
        yield b"en=" + r.json()["access_token"].encode()

    info = await admin.post("/oauth2/introspect", content=token_body(), headers=FORM)  # no /admin prefix
    assert info.status_code == 200 and info.json()["active"] is True and info.json()["scope"] == "api"


async def test_introspect_errors_in_the_admin_format(admin):
    raw = await admin.post("/admin/oauth2/introspect", content=b"scope=api", headers=FORM)
    via_starlette = await admin.post("/admin/oauth2/introspect", files={"scope": (None, "api")})
    assert raw.status_code == via_starlette.status_code == 400
    assert raw.json() == via_starlette.json()
    assert raw.json()["error"] == "invalid_request" and "'token' is missing" in raw.json()["error_description"]
    assert raw.headers["content-type"] == via_starlette.headers["content-type"] == "application/json; charset=utf-8"
    assert "cache-control" not in raw.headers and "cache-control" not in via_starlette.headers
    bad = await admin.post("/admin/oauth2/introspect", content=b"token=%zz", headers=FORM)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
