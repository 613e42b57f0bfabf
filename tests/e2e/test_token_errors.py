"""The token endpoint with client_credentials: every bad input gets its RFC 6749 error, never a 500
(issue 2 item 10; SECURITY.md A1–A15, A31, F1)."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.conftest import basic, run_server

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    return body


def assert_invalid_client(response, *, challenge: bool) -> dict:
    body = assert_error(response, 401, "invalid_client")
    if challenge:
        assert response.headers["www-authenticate"].startswith("Basic")
    return body


@pytest.fixture
async def client(make_client):
    return await make_client(audience=["https://api.example.com/v1"])


async def token(public, client=None, *, auth=None, **form):
    headers = auth if auth is not None else basic(client["client_id"], client["client_secret"])
    return await public.post("/oauth2/token", data=form, headers=headers)


async def test_success_shape(public, client):
    r = await token(public, client, grant_type="client_credentials", scope="api read",
                    audience="https://api.example.com/v1/users")
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access_token", "expires_in", "scope", "token_type"]
    assert body["token_type"] == "bearer" and body["scope"] == "api read" and body["expires_in"] == 3600
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"


async def test_no_scope_requested_gives_empty_scope(public, client):
    r = await token(public, client, grant_type="client_credentials")
    assert r.status_code == 200 and r.json()["scope"] == ""


async def test_a1_missing_grant_type(public, client):
    assert_error(await token(public, client, scope="api"), 400, "invalid_request")
    assert_error(await token(public, client, grant_type=" ", scope="api"), 400, "invalid_request")


@pytest.mark.parametrize("grant", ["foo", "password", "implicit", "CLIENT_CREDENTIALS", "x" * 5000])
async def test_a2_unknown_grant_type(public, client, grant):
    body = assert_error(await token(public, client, grant_type=grant), 400, "unsupported_grant_type")
    assert len(body["error_description"]) < 1000  # the value is not echoed in full


@pytest.mark.parametrize("grant", ["client_credentials refresh_token", "client_credentials  client_credentials"])
async def test_a2_several_grant_types_select_none(public, client, grant):
    # fosite splits grant_type on spaces: only exactly one value selects a grant
    assert_error(await token(public, client, grant_type=grant), 400, "unsupported_grant_type")


async def test_a2_spaces_around_one_grant_type_are_dropped_as_fosite_does(public, client):
    r = await token(public, client, grant_type="  client_credentials ")
    assert r.status_code == 200, r.text


UNAUTHENTICATED = {
    "no credentials": {},
    "unknown client": basic("no-such-client", "whatever-secret"),
    "wrong secret": None,  # the fixture client with a wrong secret
}


@pytest.mark.parametrize("how", list(UNAUTHENTICATED))
@pytest.mark.parametrize("grant", ["client_credentials", "authorization_code", "refresh_token", "foo", "password",
                                   "client_credentials refresh_token",
                                   "urn:ietf:params:oauth:grant-type:device_code"])
async def test_client_authentication_comes_before_the_grant_type(public, client, how, grant):
    """fosite's order (access_request_handler.go): an unauthenticated client learns nothing about the grant."""
    auth = UNAUTHENTICATED[how]
    if auth is None:
        auth = basic(client["client_id"], "wrong-secret")
    r = await token(public, auth=auth, grant_type=grant, code="some-code", refresh_token="some-token")
    assert_invalid_client(r, challenge=bool(auth))


@pytest.mark.parametrize("how", list(UNAUTHENTICATED))
async def test_missing_grant_type_comes_before_client_authentication(public, client, how):
    """fosite checks grant_type before it authenticates: a request without one is invalid_request for anybody."""
    auth = UNAUTHENTICATED[how]
    if auth is None:
        auth = basic(client["client_id"], "wrong-secret")
    body = assert_error(await token(public, auth=auth, scope="api"), 400, "invalid_request")
    assert "grant_type" in body["error_description"]
    assert_error(await token(public, auth=auth, grant_type="  "), 400, "invalid_request")


async def test_authenticated_client_then_gets_the_grant_error(public, client):
    """After authentication the grant decides: an unknown grant, then a grant the client may not use."""
    assert_error(await token(public, client, grant_type="foo"), 400, "unsupported_grant_type")
    assert_error(await token(public, client, grant_type="authorization_code", code="x"), 400, "unauthorized_client")


async def test_a3_grant_not_allowed_for_client(public, make_client):
    other = await make_client(grant_types=["authorization_code"], redirect_uris=["https://app.example.com/cb"])
    assert_error(await token(public, other, grant_type="client_credentials"), 400, "unauthorized_client")


async def test_a4_get_is_not_allowed(public):
    r = await public.get("/oauth2/token")
    assert r.status_code in (404, 405)


async def test_a4_json_body(public, client):
    r = await public.post("/oauth2/token", json={"grant_type": "client_credentials"},
                          headers=basic(client["client_id"], client["client_secret"]))
    assert_error(r, 400, "invalid_request")


async def test_a4_empty_body(public, client):
    r = await public.post("/oauth2/token", content=b"", headers={**FORM, **basic(client["client_id"],
                                                                                client["client_secret"])})
    body = assert_error(r, 400, "invalid_request")
    assert "The POST body can not be empty" in body["error_description"]


async def test_multipart_body_is_accepted_as_hydra_does(public, client):
    r = await public.post("/oauth2/token", files={"grant_type": (None, "client_credentials"), "scope": (None, "api")},
                          headers=basic(client["client_id"], client["client_secret"]))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "api"


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&grant_type=client_credentials",
    "grant_type=client_credentials&scope=api&scope=read",
    "grant_type=client_credentials&client_id=a&client_id=b",
])
async def test_a5_repeated_parameters(public, client, body):
    r = await public.post("/oauth2/token", content=body,
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert_error(r, 400, "invalid_request")


async def test_a5_audience_may_repeat(public, client):
    r = await public.post("/oauth2/token", content="grant_type=client_credentials&audience=https%3A%2F%2Fapi."
                          "example.com%2Fv1%2Fa&audience=https%3A%2F%2Fapi.example.com%2Fv1%2Fb",
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 200, r.text


async def test_a6_a7_unknown_client_and_wrong_secret_look_alike(public, client):
    unknown = assert_invalid_client(await token(public, auth=basic(str(uuid.uuid4()), "whatever-secret"),
                                                grant_type="client_credentials"), challenge=True)
    wrong = assert_invalid_client(await token(public, auth=basic(client["client_id"], "wrong-secret"),
                                              grant_type="client_credentials"), challenge=True)
    assert unknown == wrong


async def test_a7_wrong_secret_via_post(public, make_client):
    c = await make_client(token_endpoint_auth_method="client_secret_post")
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": c["client_id"],
                                                 "client_secret": "wrong-secret"})
    assert_invalid_client(r, challenge=False)
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": c["client_id"],
                                                 "client_secret": c["client_secret"]})
    assert r.status_code == 200, r.text


async def test_a8_confidential_client_without_credentials(public, client):
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": client["client_id"]})
    assert_invalid_client(r, challenge=False)
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"})
    assert_invalid_client(r, challenge=False)


async def test_a9_method_mismatch(public, make_client, client):
    # a client_secret_basic client sends its secret in the body
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": client["client_id"],
                                                 "client_secret": client["client_secret"]})
    assert_invalid_client(r, challenge=False)
    # a client_secret_post client uses Basic
    post = await make_client(token_endpoint_auth_method="client_secret_post")
    assert_invalid_client(await token(public, post, grant_type="client_credentials"), challenge=True)


async def test_a9_none_client_sending_a_secret(public, make_client):
    pub = await make_client(token_endpoint_auth_method="none")
    assert "client_secret" not in pub
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": pub["client_id"],
                                                 "client_secret": "some-secret"})
    assert_invalid_client(r, challenge=False)
    assert_invalid_client(await token(public, auth=basic(pub["client_id"], "some-secret"),
                                      grant_type="client_credentials"), challenge=True)


async def test_a10_credentials_in_header_and_body(public, client):
    auth = basic(client["client_id"], client["client_secret"])
    r = await public.post("/oauth2/token", headers=auth, data={
        "grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert_error(r, 400, "invalid_request")
    r = await public.post("/oauth2/token", headers=auth, data={"grant_type": "client_credentials",
                                                               "client_id": "someone-else"})
    assert_error(r, 400, "invalid_request")


def _raw_basic(value: str) -> dict[str, str]:
    return {"Authorization": value}


@pytest.mark.parametrize("header", [
    "Basic", "Basic ====", "Basic !!!!", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b":secret").decode(), "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
    "Basic Zm9vOmJhcg",  # missing padding
])
async def test_a11_malformed_basic(public, header):
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=_raw_basic(header))
    assert_invalid_client(r, challenge=True)


async def test_a11_lowercase_scheme_works(public, client):
    value = basic(client["client_id"], client["client_secret"])["Authorization"].replace("Basic", "basic")
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=_raw_basic(value))
    assert r.status_code == 200, r.text


async def test_a12_percent_encoded_credentials(public, make_client):
    client_id = f"my:client-{uuid.uuid4().hex[:6]}"
    c = await make_client(client_id=client_id, client_secret="p@ss+w%rd")
    assert c["client_id"] == client_id
    raw = f"{client_id.replace(':', '%3A')}:p%40ss%2Bw%25rd"
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=_raw_basic(header))
    assert r.status_code == 200, r.text


async def test_a12_unencoded_plus_is_a_space(public, make_client):
    c = await make_client(client_secret="secret-a+b")
    header = "Basic " + base64.b64encode(f"{c['client_id']}:secret-a+b".encode()).decode()
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=_raw_basic(header))
    assert_invalid_client(r, challenge=True)


async def test_a12_bad_escape_is_invalid_request(public, client):
    header = "Basic " + base64.b64encode(f"{client['client_id']}:%zz".encode()).decode()
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=_raw_basic(header))
    assert_error(r, 400, "invalid_request")


async def test_a13_public_client_may_not_use_client_credentials(public, make_client):
    pub = await make_client(token_endpoint_auth_method="none")
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": pub["client_id"]})
    assert_error(r, 400, "unauthorized_client")


@pytest.mark.parametrize("scope", ["admin", "api admin", "api.write", 'api"', "a\\b", "a\x7fb", "caf\u00e9"])
async def test_a14_scope_not_allowed_or_outside_nqchar(public, client, scope):
    assert_error(await token(public, client, grant_type="client_credentials", scope=scope), 400, "invalid_scope")


async def test_a14_wildcard_scopes(public, make_client):
    c = await make_client(scope="orders.* api")
    r = await token(public, c, grant_type="client_credentials", scope="orders.read orders.write.all api")
    assert r.status_code == 200 and r.json()["scope"] == "orders.read orders.write.all api"
    assert_error(await token(public, c, grant_type="client_credentials", scope="orders"), 400, "invalid_scope")


@pytest.mark.parametrize("aud", ["https://evil.example.com", "https://api.example.com/v2",
                                 "https://api.example.com/v1x", "http://api.example.com/v1",
                                 "https://api.example.com.evil.net/v1"])
async def test_a15_audience_not_allowlisted(public, client, aud):
    body = assert_error(await token(public, client, grant_type="client_credentials", audience=aud),
                        400, "invalid_request")
    assert "has not been whitelisted" in body["error_description"]


async def test_a31_huge_client_id_or_secret_fails_fast(public, client):
    huge = "x" * 1_000_000
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": huge,
                                                 "client_secret": "s"})
    assert r.status_code in (400, 401)
    r = await token(public, auth=basic(client["client_id"], "x" * 100_000), grant_type="client_credentials")
    assert r.status_code in (400, 401, 431)
    r = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": client["client_id"],
                                                 "client_secret": huge})
    assert r.status_code in (400, 401)


async def test_oversized_body_is_413(public, client):
    r = await public.post("/oauth2/token", content=b"grant_type=client_credentials&x=" + b"a" * (2 << 20),
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 413


@pytest.mark.parametrize("body", ["grant_type=client_credentials&scope=api%00", "grant_type=client%00_credentials",
                                  "grant_type=client_credentials&scope=%ff%fe", "%zz=1&grant_type=client_credentials"])
async def test_nul_bytes_and_bad_encoding(public, client, body):
    r = await public.post("/oauth2/token", content=body,
                          headers={**FORM, **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_request", "unsupported_grant_type")


async def test_wrong_content_type(public, client):
    r = await public.post("/oauth2/token", content=b"grant_type=client_credentials",
                          headers={"Content-Type": "text/plain", **basic(client["client_id"], client["client_secret"])})
    assert_error(r, 400, "invalid_request")


async def test_default_grant_allowed_scope_option(server, make_client):
    c = await make_client(scope="api read")
    with run_server(server.dsn, OAUTH2_CLIENT_CREDENTIALS_DEFAULT_GRANT_ALLOWED_SCOPE="true") as srv:
        async with httpx.AsyncClient(base_url=srv.public_url, timeout=30) as pub:
            r = await token(pub, c, grant_type="client_credentials")
            assert r.status_code == 200 and r.json()["scope"] == "api read"
            r = await token(pub, c, grant_type="client_credentials", scope="read")
            assert r.status_code == 200 and r.json()["scope"] == "read"


async def test_chunked_multipart_body_is_bounded(public, client):
    boundary = "hydralite-boundary"

    async def body():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"pad\"\r\n\r\n").encode()
        for _ in range(64):
            yield b"a" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await public.post("/oauth2/token", content=body(),
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                   **basic(client["client_id"], client["client_secret"])})
    assert r.status_code == 413
