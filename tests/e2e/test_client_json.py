"""Client JSON exactly as Hydra v25 serialises it, key by key (client/client.go struct tags and BeforeSave).

The create call and its answer are the curl transcript of the client_credentials guide
(shared/guides/001_a2587a07bebe9089.txt). Hydra answers create, PUT and PATCH with its in-memory struct, so an
array the request left unset is Go's nil slice (`null`); GET and list read the row back, where every array is
`[]`. `audience` and `allowed_cors_origins` are `[]` from BeforeSave, `jwks` and `metadata` are `{}`.
"""

from __future__ import annotations

import re
import uuid

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
FRACTION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")  # Go's RFC 3339 with nanoseconds
ACCESS_TOKEN = re.compile(r"ory_at_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}")

GUIDE_REQUEST = {"access_token_strategy": "opaque", "client_name": "my_client", "client_secret": "my_secret",
                 "grant_types": ["client_credentials"], "scope": "api"}
LIFESPANS = (
    "authorization_code_grant_access_token_lifespan", "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan", "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan", "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan", "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_access_token_lifespan", "refresh_token_grant_refresh_token_lifespan",
    "device_authorization_grant_id_token_lifespan", "device_authorization_grant_access_token_lifespan",
    "device_authorization_grant_refresh_token_lifespan",
)
GENERATED = {"client_id": UUID4, "created_at": SECONDS, "updated_at": FRACTION,
             "registration_access_token": ACCESS_TOKEN}
NIL_ARRAYS = ("redirect_uris", "grant_types", "response_types", "contacts")
RESPONSE_ONLY = ("client_secret", "registration_access_token", "registration_client_uri")


def guide_answer(public_url: str) -> dict:
    """The guide's create answer with its generated values left to GENERATED (order as Hydra writes it)."""
    return {
        "client_id": GENERATED["client_id"], "client_name": "my_client", "client_secret": "my_secret",
        "redirect_uris": None, "grant_types": ["client_credentials"], "response_types": None, "scope": "api",
        "audience": [], "owner": "", "policy_uri": "", "allowed_cors_origins": [], "tos_uri": "", "client_uri": "",
        "logo_uri": "", "contacts": None, "client_secret_expires_at": 0, "subject_type": "public", "jwks": {},
        "token_endpoint_auth_method": "client_secret_basic", "userinfo_signed_response_alg": "none",
        "created_at": GENERATED["created_at"], "updated_at": GENERATED["updated_at"], "metadata": {},
        "registration_access_token": GENERATED["registration_access_token"],
        "registration_client_uri": f"{public_url}/oauth2/register",  # no id: Hydra builds it before the id exists
        "access_token_strategy": "opaque", "skip_consent": False, "skip_logout_consent": None,
        **{key: None for key in LIFESPANS},
    }


def assert_matches(body: dict, expected: dict) -> None:
    assert list(body) == list(expected), (list(body), list(expected))
    for key, want in expected.items():
        if isinstance(want, re.Pattern):
            assert isinstance(body[key], str) and want.fullmatch(body[key]), (key, body[key])
        else:
            assert body[key] == want and type(body[key]) is type(want), (key, body[key], want)


def as_stored(answer: dict) -> dict:
    """What GET shows for a client answered with `answer`: no secret or registration fields, arrays `[]`."""
    out = {k: v for k, v in answer.items() if k not in RESPONSE_ONLY}
    return {k: ([] if k in NIL_ARRAYS and v is None else v) for k, v in out.items()}


async def test_guide_create_answer_key_by_key(admin, server):
    r = await admin.post("/admin/clients", json=GUIDE_REQUEST)
    assert r.status_code == 201, r.text
    created = r.json()
    assert_matches(created, guide_answer(server.public_url))
    assert r.headers["location"] == f"/admin/clients/{created['client_id']}"

    got = await admin.get(f"/admin/clients/{created['client_id']}")
    assert got.status_code == 200
    stored = as_stored(created)
    assert_matches(got.json(), stored)
    assert got.json()["redirect_uris"] == [] and got.json()["contacts"] == [] and got.json()["response_types"] == []
    listed = (await admin.get("/admin/clients", params={"client_name": "my_client", "page_size": 500})).json()
    (item,) = [c for c in listed if c["client_id"] == created["client_id"]]
    assert_matches(item, stored)


async def test_create_echoes_given_empty_arrays_and_omits_empty_optional_ones(admin, server):
    cid = f"json-{uuid.uuid4()}"
    r = await admin.post("/admin/clients", json={"client_id": cid, "redirect_uris": [], "grant_types": [],
                                                 "response_types": None, "contacts": [], "audience": None,
                                                 "allowed_cors_origins": None, "request_uris": [],
                                                 "post_logout_redirect_uris": []})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["redirect_uris"] == [] and c["grant_types"] == [] and c["contacts"] == []
    assert c["response_types"] is None
    assert c["audience"] == [] and c["allowed_cors_origins"] == []  # BeforeSave fills these two
    assert "request_uris" not in c and "post_logout_redirect_uris" not in c  # omitempty
    assert c["registration_client_uri"] == f"{server.public_url}/oauth2/register/{cid}"
    assert c["metadata"] == {} and c["jwks"] == {}


async def test_optional_arrays_appear_once_set(admin):
    r = await admin.post("/admin/clients", json={"redirect_uris": ["https://app.example.com/cb"],
                                                 "request_uris": ["https://app.example.com/r"],
                                                 "post_logout_redirect_uris": ["https://app.example.com/out"]})
    assert r.status_code == 201, r.text
    got = (await admin.get(f"/admin/clients/{r.json()['client_id']}")).json()
    assert got["request_uris"] == ["https://app.example.com/r"]
    assert got["post_logout_redirect_uris"] == ["https://app.example.com/out"]


async def test_metadata_and_jwks_objects(admin):
    null = (await admin.post("/admin/clients", json={"metadata": None, "jwks": None})).json()
    assert null["metadata"] is None and null["jwks"] == {}  # a sent null stays a raw JSON null
    assert (await admin.get(f"/admin/clients/{null['client_id']}")).json()["metadata"] is None
    odd = (await admin.post("/admin/clients", json={"metadata": {"a": [1]}, "jwks": {"not": "a key set"}})).json()
    assert odd["metadata"] == {"a": [1]} and odd["jwks"] == {}  # Go keeps only `keys` of a key set
    empty = (await admin.post("/admin/clients", json={"jwks": {"keys": []}})).json()
    assert empty["jwks"] == {"keys": []}


async def test_put_answer_has_nil_arrays_for_what_the_body_left_out(admin):
    created = (await admin.post("/admin/clients", json={**GUIDE_REQUEST, "redirect_uris": ["https://a.example/cb"],
                                                        "contacts": ["x@example.com"]})).json()
    cid = created["client_id"]
    r = await admin.put(f"/admin/clients/{cid}", json={"client_name": "renamed", "scope": "api",
                                                       "grant_types": ["client_credentials"]})
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["redirect_uris"] is None and put["response_types"] is None and put["contacts"] is None
    assert put["grant_types"] == ["client_credentials"]
    assert put["audience"] == [] and put["allowed_cors_origins"] == [] and put["metadata"] == {}
    assert put["jwks"] == {}
    assert "client_secret" not in put and "registration_access_token" not in put
    assert "registration_client_uri" not in put and "access_token_strategy" not in put
    assert FRACTION.fullmatch(put["updated_at"]) and SECONDS.fullmatch(put["created_at"])
    got = (await admin.get(f"/admin/clients/{cid}")).json()
    assert got["redirect_uris"] == [] and got["contacts"] == [] and got["response_types"] == []
    assert list(got) == [k for k in put if k not in RESPONSE_ONLY]

    again = (await admin.put(f"/admin/clients/{cid}", json={"redirect_uris": [], "client_secret": "new-secret"})).json()
    assert again["redirect_uris"] == [] and again["grant_types"] is None and again["client_secret"] == "new-secret"


async def test_patch_answer_starts_from_the_stored_arrays(admin):
    created = (await admin.post("/admin/clients", json={"contacts": ["x@example.com"]})).json()
    cid = created["client_id"]
    r = await admin.patch(f"/admin/clients/{cid}", json=[{"op": "replace", "path": "/client_name", "value": "p"}])
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["redirect_uris"] == [] and patched["grant_types"] == [] and patched["response_types"] == []
    assert patched["contacts"] == ["x@example.com"] and patched["metadata"] == {} and patched["jwks"] == {}
    assert "client_secret" not in patched and "registration_access_token" not in patched

    r = await admin.patch(f"/admin/clients/{cid}", json=[{"op": "replace", "path": "/contacts", "value": None},
                                                         {"op": "remove", "path": "/redirect_uris"}])
    assert r.status_code == 200, r.text
    assert r.json()["contacts"] is None and r.json()["redirect_uris"] is None and r.json()["grant_types"] == []
    got = (await admin.get(f"/admin/clients/{cid}")).json()
    assert got["contacts"] == [] and got["redirect_uris"] == []


async def test_lifespans_answer_is_the_stored_client(admin):
    cid = (await admin.post("/admin/clients", json={"client_name": "ls"})).json()["client_id"]
    r = await admin.put(f"/admin/clients/{cid}/lifespans",
                        json={"client_credentials_grant_access_token_lifespan": "5m"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["client_credentials_grant_access_token_lifespan"] == "5m0s"
    assert body["implicit_grant_id_token_lifespan"] is None
    assert body["redirect_uris"] == [] and body["contacts"] == [] and body["metadata"] == {}
    assert "client_secret" not in body
