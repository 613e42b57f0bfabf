"""The admin clients API exactly as Hydra (REFERENCE.md §1b, §1c, §2, §3; SECURITY.md C1–C12, C15)."""

from __future__ import annotations

import re
import secrets
import uuid

import asyncpg
import pytest

from tests.conftest import basic

NOT_FOUND = {"error": "Unable to locate the resource", "error_description": ""}
CONFLICT = {"error": "Unable to insert or update resource because a resource with that value exists already",
            "error_description": ""}
MALFORMED = "The request was malformed or contained invalid parameters"
ALWAYS = ("client_id", "client_name", "redirect_uris", "grant_types", "response_types", "scope", "audience", "owner",
          "policy_uri", "allowed_cors_origins", "tos_uri", "client_uri", "logo_uri", "contacts",
          "client_secret_expires_at", "subject_type", "jwks", "token_endpoint_auth_method",
          "userinfo_signed_response_alg", "created_at", "updated_at", "skip_consent", "skip_logout_consent",
          "client_credentials_grant_access_token_lifespan", "refresh_token_grant_refresh_token_lifespan")


def assert_api_error(response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    if error is not None:
        assert body["error"] == error, body
    assert response.headers["content-type"].startswith("application/json")
    return body


async def token_for(public, client_id: str, secret: str, **form):
    return await public.post("/oauth2/token", headers=basic(client_id, secret),
                             data={"grant_type": "client_credentials", **form})


async def test_create_with_defaults(admin):
    r = await admin.post("/admin/clients", json={"client_name": "defaults"})
    assert r.status_code == 201, r.text
    c = r.json()
    for key in ALWAYS:
        assert key in c, key
    assert r.headers["location"] == f"/admin/clients/{c['client_id']}"
    assert uuid.UUID(c["client_id"]).version == 4
    assert re.fullmatch(r"[A-Za-z0-9_.~-]{26}", c["client_secret"])  # generated, returned once
    assert c["scope"] == "offline_access offline openid"
    assert c["token_endpoint_auth_method"] == "client_secret_basic"
    assert c["subject_type"] == "public" and c["userinfo_signed_response_alg"] == "none"
    assert c["jwks"] == {} and c["client_secret_expires_at"] == 0 and c["skip_consent"] is False
    assert c["skip_logout_consent"] is None and c["client_credentials_grant_access_token_lifespan"] is None
    assert c["registration_access_token"].startswith("ory_at_")
    assert c["registration_client_uri"].endswith("/oauth2/register")  # Hydra: no id when the id is generated
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c["created_at"])


async def test_get_never_returns_the_secret(admin, make_client):
    c = await make_client(client_name="get-me")
    r = await admin.get(f"/admin/clients/{c['client_id']}")
    assert r.status_code == 200
    got = r.json()
    assert "client_secret" not in got and "registration_access_token" not in got
    assert got["client_name"] == "get-me" and got["client_id"] == c["client_id"]
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    # the /admin prefix is optional on the admin port
    assert (await admin.get(f"/clients/{c['client_id']}")).json() == got


async def test_response_only_fields_in_the_body_are_not_stored(admin):
    r = await admin.post("/admin/clients", json={"registration_access_token": "forged",
                                                 "registration_client_uri": "https://evil.example.com",
                                                 "created_at": "2000-01-01T00:00:00Z"})
    assert r.status_code == 201
    c = r.json()
    assert c["registration_access_token"] != "forged" and "evil" not in c["registration_client_uri"]
    assert c["created_at"] != "2000-01-01T00:00:00Z"
    got = (await admin.get(f"/admin/clients/{c['client_id']}")).json()
    assert "registration_access_token" not in got and "registration_client_uri" not in got


async def test_secret_is_stored_as_argon2id_and_the_cache_works(admin, public, server, make_client):
    c = await make_client(client_secret="plain-text-secret-123")
    conn = await asyncpg.connect(server.dsn)
    try:
        row = await conn.fetchrow("SELECT * FROM hydralite_client WHERE id = $1", c["client_id"])
    finally:
        await conn.close()
    assert row["secret_hash"].startswith("$argon2id$")
    assert "plain-text-secret-123" not in str(dict(row))
    for _ in range(3):  # the second and later authentications are served from the verified-secret cache
        r = await token_for(public, c["client_id"], "plain-text-secret-123")
        assert r.status_code == 200, r.text
    assert (await token_for(public, c["client_id"], "plain-text-secret-124")).status_code == 401


async def test_duplicate_client_id_is_409(admin):
    cid = f"dup-{uuid.uuid4()}"
    assert (await admin.post("/admin/clients", json={"client_id": cid})).status_code == 201
    r = await admin.post("/admin/clients", json={"client_id": cid})
    assert_api_error(r, 409)
    assert r.json() == CONFLICT


async def test_unknown_client_is_404(admin):
    missing = f"/admin/clients/{uuid.uuid4()}"
    for method, kw in (("GET", {}), ("DELETE", {}), ("PUT", {"json": {}}), ("PATCH", {"json": []})):
        r = await admin.request(method, missing, **kw)
        assert_api_error(r, 404)
        assert r.json() == NOT_FOUND
    r = await admin.put(missing + "/lifespans", json={})
    assert r.status_code == 404 and r.json() == NOT_FOUND
    r = await admin.get("/admin/clients/" + "x" * 5000)
    assert r.status_code == 404


async def test_list_pagination_with_link_header(admin):
    name = f"page-{uuid.uuid4()}"
    ids = sorted([(await admin.post("/admin/clients", json={"client_name": name})).json()["client_id"]
                  for _ in range(5)])
    seen: list[str] = []
    url = f"/admin/clients?client_name={name}&page_size=2"
    pages = 0
    while url:
        r = await admin.get(url)
        assert r.status_code == 200, r.text
        batch = r.json()
        assert all("client_secret" not in c for c in batch)
        seen += [c["client_id"] for c in batch]
        links = dict((rel, link) for link, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["link"]))
        assert "first" in links and "page_size=2" in links["first"] and f"client_name={name}" in links["first"]
        url = links.get("next", "")
        if url:
            assert "page_token=" in url and f"client_name={name}" in url
        pages += 1
        assert pages <= 5
    assert seen == ids and pages == 3


async def test_list_filters(admin):
    owner = f"owner-{uuid.uuid4()}"
    a = (await admin.post("/admin/clients", json={"client_name": "alpha", "owner": owner})).json()
    b = (await admin.post("/admin/clients", json={"client_name": "beta", "owner": owner})).json()
    r = await admin.get("/admin/clients", params={"owner": owner})
    assert sorted(c["client_id"] for c in r.json()) == sorted([a["client_id"], b["client_id"]])
    r = await admin.get("/admin/clients", params={"owner": owner, "client_name": "beta"})
    assert [c["client_id"] for c in r.json()] == [b["client_id"]]
    r = await admin.get("/admin/clients", params={"owner": f"nobody-{uuid.uuid4()}"})
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize("params", [{"page_token": "forged"}, {"page_token": "A" * 200},
                                    {"page_token": "' OR 1=1--"}, {"page_size": "abc"}])
async def test_bad_pagination_is_400_c12(admin, params):
    assert_api_error(await admin.get("/admin/clients", params=params), 400)


async def test_tampered_page_token_is_400_c12(admin):
    name = f"tamper-{uuid.uuid4()}"
    for _ in range(2):
        await admin.post("/admin/clients", json={"client_name": name})
    r = await admin.get("/admin/clients", params={"client_name": name, "page_size": 1})
    token = re.search(r"page_token=([^&>]+)", r.headers["link"]).group(1)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert_api_error(await admin.get("/admin/clients", params={"page_token": flipped}), 400)


async def test_put_replaces_and_keeps_or_changes_the_secret(admin, public, make_client):
    c = await make_client(client_name="before", client_secret="first-secret-123")
    cid = c["client_id"]
    body = {"client_id": "path-id-wins", "client_name": "after", "grant_types": ["client_credentials"],
            "scope": "api"}
    r = await admin.put(f"/admin/clients/{cid}", json=body)
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["client_id"] == cid and put["client_name"] == "after" and put["scope"] == "api"
    assert "client_secret" not in put  # not sent, not echoed, old hash kept
    assert (await token_for(public, cid, "first-secret-123")).status_code == 200
    r = await admin.put(f"/admin/clients/{cid}", json={**body, "client_secret": "second-secret-456"})
    assert r.json()["client_secret"] == "second-secret-456"
    assert (await token_for(public, cid, "first-secret-123")).status_code == 401  # the cache does not keep it alive
    assert (await token_for(public, cid, "second-secret-456")).status_code == 200
    assert (await admin.get("/admin/clients/path-id-wins")).status_code == 404


async def test_patch_rfc6902(admin, public, make_client):
    c = await make_client(client_name="patch-me", redirect_uris=["https://app.example.com/a"])
    cid = c["client_id"]
    r = await admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/client_name", "value": "patched"},
        {"op": "add", "path": "/redirect_uris/-", "value": "https://app.example.com/b"},
        {"op": "replace", "path": "/owner", "value": "me"},
        {"op": "add", "path": "/metadata/team", "value": "blue"},
    ])
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["client_name"] == "patched" and p["owner"] == "me" and p["metadata"] == {"team": "blue"}
    assert p["redirect_uris"] == ["https://app.example.com/a", "https://app.example.com/b"]
    assert "client_secret" not in p
    assert (await admin.get(f"/admin/clients/{cid}")).json()["client_name"] == "patched"
    assert (await token_for(public, cid, c["client_secret"])).status_code == 200

    r = await admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/client_secret", "value": "patched-secret-1"}])
    assert r.status_code == 200 and r.json()["client_secret"] == "patched-secret-1"
    assert (await token_for(public, cid, "patched-secret-1")).status_code == 200
    assert (await token_for(public, cid, c["client_secret"])).status_code == 401


@pytest.mark.parametrize("patch", [
    [{"op": "replace", "path": "/client_id", "value": "other"}],
    [{"op": "test", "path": "/client_name", "value": "not-the-name"}],
    [{"op": "remove", "path": "/does-not-exist"}],
    [{"op": "bogus", "path": "/client_name"}],
    {"op": "replace", "path": "/client_name", "value": "x"},
    ["not-an-object"],
    [{"op": "replace", "path": "/grant_types", "value": 5}],
])
async def test_bad_patch_is_400(admin, make_client, patch):
    c = await make_client(client_name="unpatched")
    assert_api_error(await admin.patch(f"/admin/clients/{c['client_id']}", json=patch), 400)
    assert (await admin.get(f"/admin/clients/{c['client_id']}")).json()["client_name"] == "unpatched"


async def test_delete(admin, public, make_client):
    c = await make_client()
    tok = (await token_for(public, c["client_id"], c["client_secret"])).json()["access_token"]
    r = await admin.delete(f"/admin/clients/{c['client_id']}")
    assert r.status_code == 204 and r.content == b""
    assert (await admin.get(f"/admin/clients/{c['client_id']}")).status_code == 404
    assert (await admin.delete(f"/admin/clients/{c['client_id']}")).status_code == 404
    assert (await admin.post("/admin/oauth2/introspect", data={"token": tok})).json() == {"active": False}
    assert (await token_for(public, c["client_id"], c["client_secret"])).status_code == 401


async def test_lifespans(admin, public, make_client):
    c = await make_client(client_name="lifespans", scope="api")
    cid = c["client_id"]
    r = await admin.put(f"/admin/clients/{cid}/lifespans", json={
        "client_credentials_grant_access_token_lifespan": "90s", "refresh_token_grant_refresh_token_lifespan": "1h"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["client_credentials_grant_access_token_lifespan"] == "1m30s"
    assert body["refresh_token_grant_refresh_token_lifespan"] == "1h0m0s"
    assert body["authorization_code_grant_access_token_lifespan"] is None
    assert body["client_name"] == "lifespans" and body["scope"] == "api"  # other fields untouched
    t = await token_for(public, cid, c["client_secret"])
    assert t.status_code == 200 and t.json()["expires_in"] == 90
    info = (await admin.post("/admin/oauth2/introspect", data={"token": t.json()["access_token"]})).json()
    assert info["exp"] - info["iat"] == 90
    # keys absent from the body become null
    r = await admin.put(f"/admin/clients/{cid}/lifespans", json={})
    assert r.json()["client_credentials_grant_access_token_lifespan"] is None
    assert (await token_for(public, cid, c["client_secret"])).json()["expires_in"] == 3600
    assert_api_error(await admin.put(f"/admin/clients/{cid}/lifespans",
                                     json={"client_credentials_grant_access_token_lifespan": "soon"}), 400)
    assert_api_error(await admin.put(f"/admin/clients/{cid}/lifespans",
                                     json={"client_credentials_grant_access_token_lifespan": 60}), 400)


async def test_lifespan_set_on_create(admin, public, make_client):
    c = await make_client(client_credentials_grant_access_token_lifespan="5m")
    assert c["client_credentials_grant_access_token_lifespan"] == "5m0s"
    assert (await token_for(public, c["client_id"], c["client_secret"])).json()["expires_in"] == 300


# --- bad input (C1–C11) ---------------------------------------------------------------------------------------

async def test_invalid_json_c1(admin):
    r = await admin.post("/admin/clients", content=b"{not json", headers={"Content-Type": "application/json"})
    body = assert_api_error(r, 400, MALFORMED)
    assert body["error_description"].startswith("Unable to decode the request body")
    assert_api_error(await admin.post("/admin/clients", content=b"", headers={"Content-Type": "application/json"}),
                     400, MALFORMED)


async def test_wrong_content_type_is_415_c1(admin):
    r = await admin.post("/admin/clients", content=b"<client/>", headers={"Content-Type": "application/xml"})
    assert_api_error(r, 415)


@pytest.mark.parametrize("body", [
    {"redirect_uris": "x"}, {"grant_types": 5}, {"client_name": 7}, {"scope": ["api"]}, {"skip_consent": "yes"},
    {"redirect_uris": [1]}, {"metadata": {"a": "\u0000"}}, {"jwks": "keys"}, [], "string", 5,
])
async def test_wrong_types_c2(admin, body):
    assert_api_error(await admin.post("/admin/clients", json=body), 400)


async def test_nulls_are_zero_values_c2(admin):
    r = await admin.post("/admin/clients", json={"redirect_uris": None, "client_name": None, "skip_consent": None})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["client_name"] == "" and c["skip_consent"] is False and c["redirect_uris"] in ([], None)


async def test_oversized_c3(admin):
    r = await admin.post("/admin/clients", content=b'{"client_name":"' + b"a" * (2 << 20) + b'"}',
                         headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert_api_error(await admin.post("/admin/clients", json={"redirect_uris": [f"https://a/{i}" for i in
                                                                                range(10_000)]}), 400)
    assert_api_error(await admin.post("/admin/clients", json={"client_name": "n" * 1_000_000}), 400)


async def test_unknown_fields_are_ignored_c4(admin):
    r = await admin.post("/admin/clients", json={"client_name": "unknown", "favourite_colour": "blue"})
    assert r.status_code == 201
    assert "favourite_colour" not in r.json()
    assert "favourite_colour" not in (await admin.get(f"/admin/clients/{r.json()['client_id']}")).json()


@pytest.mark.parametrize("uri", ["/relative", "https://app.example.com/cb#frag", "javascript:alert(1)",
                                 "data:text/html,x", "file:///etc/passwd", "https://a.example.com/\r\nx",
                                 "https://a.example.com/" + "a" * 3000])
async def test_bad_redirect_uris_c6(admin, uri):
    r = await admin.post("/admin/clients", json={"redirect_uris": [uri]})
    assert_api_error(r, 400, "invalid_redirect_uri")


async def test_short_secret_is_invalid_client_metadata(admin):
    r = await admin.post("/admin/clients", json={"client_secret": "short"})
    assert r.json() == {"error": "invalid_client_metadata", "error_description": (
        "The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note "
        "that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a "
        "Client's Metadata. Field client_secret must contain a secret that is at least 6 characters long.")}
    assert r.status_code == 400


@pytest.mark.parametrize("value", ["' OR 1=1--", "$$ $1 $$", "x'; DROP TABLE hydralite_client;--"])
async def test_sql_looking_values_are_stored_verbatim_c8(admin, value):
    r = await admin.post("/admin/clients", json={"client_name": value, "owner": value, "metadata": {value: value}})
    assert r.status_code == 201
    got = (await admin.get(f"/admin/clients/{r.json()['client_id']}")).json()
    assert got["client_name"] == value and got["owner"] == value and got["metadata"] == {value: value}
    listed = (await admin.get("/admin/clients", params={"client_name": value, "owner": value})).json()
    assert r.json()["client_id"] in [c["client_id"] for c in listed]


@pytest.mark.parametrize("body", [{"client_name": "a\u0000b"}, {"client_id": "id\u0000"}, {"owner": "\u0000"},
                                  {"contacts": ["x\u0000"]}])
async def test_nul_is_400_c9(admin, body):
    assert_api_error(await admin.post("/admin/clients", json=body), 400)


async def test_long_client_id_is_400_c10(admin):
    assert_api_error(await admin.post("/admin/clients", json={"client_id": secrets.token_hex(5000)}), 400)


@pytest.mark.parametrize("name", ["caf\u00e9", "cafe\u0301", "\u202eevil", "\U0001f600 emoji",
                                  "\u05e9\u05dc\u05d5\u05dd"])
async def test_unicode_round_trips_exactly_c11(admin, name):
    r = await admin.post("/admin/clients", json={"client_name": name})
    assert r.status_code == 201 and r.json()["client_name"] == name
    assert (await admin.get(f"/admin/clients/{r.json()['client_id']}")).json()["client_name"] == name


async def test_lone_surrogate_is_400_c11(admin):
    r = await admin.post("/admin/clients", content=b'{"client_name": "\\ud800"}',
                         headers={"Content-Type": "application/json"})
    assert_api_error(r, 400)


async def test_admin_api_is_not_on_the_public_port_c15(public, make_client):
    c = await make_client()
    for path in ("/admin/clients", f"/admin/clients/{c['client_id']}", "/clients"):
        assert (await public.get(path)).status_code == 404
    assert (await public.post("/admin/clients", json={})).status_code in (404, 405)
    assert (await public.post("/admin/oauth2/introspect", data={"token": "x"})).status_code in (404, 405)


async def test_patch_replace_of_an_array_element_replaces_it(admin, make_client):
    c = await make_client(redirect_uris=["https://app.example.com/a", "https://app.example.com/b"])
    r = await admin.patch(f"/admin/clients/{c['client_id']}", json=[
        {"op": "replace", "path": "/redirect_uris/0", "value": "https://app.example.com/c"}])
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uris"] == ["https://app.example.com/c", "https://app.example.com/b"]
    # replace on an absent member adds it (Hydra's tolerance); on an absent element it fails
    r = await admin.patch(f"/admin/clients/{c['client_id']}", json=[
        {"op": "replace", "path": "/metadata/new", "value": 1}])
    assert r.status_code == 200 and r.json()["metadata"] == {"new": 1}
    r = await admin.patch(f"/admin/clients/{c['client_id']}", json=[
        {"op": "replace", "path": "/redirect_uris/5", "value": "https://app.example.com/d"}])
    assert_api_error(r, 400)


@pytest.mark.parametrize("value", ["-1", "-5m", "99999999999999999999h", "2562048h"])
async def test_negative_or_overflowing_lifespans_are_400(admin, public, make_client, value):
    # Go's time.Duration cannot hold these; storing them made every later token request fail with a 500.
    c = await make_client()
    r = await admin.put(f"/admin/clients/{c['client_id']}/lifespans",
                        json={"client_credentials_grant_access_token_lifespan": value})
    assert_api_error(r, 400)
    assert_api_error(await admin.post("/admin/clients", json={"client_credentials_grant_access_token_lifespan": value}),
                     400)
    assert (await token_for(public, c["client_id"], c["client_secret"])).status_code == 200


async def test_ids_no_client_can_have_are_404_not_400(admin):
    for method, kw in (("GET", {}), ("DELETE", {}), ("PUT", {"json": {}}), ("PATCH", {"json": []})):
        r = await admin.request(method, "/admin/clients/a%00b", **kw)
        assert r.status_code == 404 and r.json() == NOT_FOUND, (method, r.text)
    assert (await admin.put("/admin/clients/a%00b/lifespans", json={})).json() == NOT_FOUND
    for params in ({"client_name": "a\x00"}, {"owner": "\x00"}):
        r = await admin.get("/admin/clients", params=params)
        assert r.status_code == 200 and r.json() == []
    assert (await admin.delete("/admin/oauth2/tokens", params={"client_id": "a\x00"})).status_code == 204


async def test_a_secret_too_long_to_authenticate_with_is_refused(admin, public):
    r = await admin.post("/admin/clients", json={"client_secret": "s" * 2000})
    body = assert_api_error(r, 400, "invalid_client_metadata")
    assert "at most" in body["error_description"]
    ok = await admin.post("/admin/clients", json={"client_secret": "s" * 1024, "grant_types": ["client_credentials"]})
    assert ok.status_code == 201
    assert (await token_for(public, ok.json()["client_id"], "s" * 1024)).status_code == 200
