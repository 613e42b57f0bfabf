"""The official Hydra Python SDK (ory-hydra-client 25.4.0) against hydralite: clients CRUD and introspection."""

from __future__ import annotations

import asyncio
import uuid

import ory_hydra_client as hydra
import pytest
from ory_hydra_client.models import JsonPatch, OAuth2Client, OAuth2ClientTokenLifespans

from tests.conftest import basic


@pytest.fixture
def sdk(server):
    config = hydra.Configuration(host=server.admin_url)
    with hydra.ApiClient(config) as api_client:
        yield hydra.OAuth2Api(api_client)


def call(fn, *args, **kwargs):
    """The SDK is synchronous (urllib3): run it off the event loop."""
    return asyncio.to_thread(fn, *args, **kwargs)


async def test_sdk_client_lifecycle_and_introspection(sdk, public):
    name = f"sdk-{uuid.uuid4()}"
    created = await call(sdk.create_o_auth2_client, OAuth2Client(
        client_name=name, client_secret="sdk-secret-123", grant_types=["client_credentials"], scope="api read",
        audience=["https://api.example.com"], owner="sdk-owner", metadata={"team": "blue"}))
    cid = created.client_id
    assert created.client_secret == "sdk-secret-123" and created.client_name == name
    assert created.grant_types == ["client_credentials"] and created.scope == "api read"
    assert created.token_endpoint_auth_method == "client_secret_basic" and created.metadata == {"team": "blue"}
    assert created.registration_access_token and created.created_at is not None

    got = await call(sdk.get_o_auth2_client, cid)
    assert got.client_id == cid and got.client_secret is None and got.owner == "sdk-owner"
    assert got.audience == ["https://api.example.com"]

    listed = await call(sdk.list_o_auth2_clients, client_name=name)
    assert [c.client_id for c in listed] == [cid]
    paged = await call(sdk.list_o_auth2_clients, page_size=1, owner="sdk-owner")
    assert len(paged) == 1
    with_info = await call(sdk.list_o_auth2_clients_with_http_info, page_size=1, owner="sdk-owner")
    headers = {k.lower(): v for k, v in with_info.headers.items()}
    assert with_info.status_code == 200 and 'rel="first"' in headers["link"]

    replaced = await call(sdk.set_o_auth2_client, cid, OAuth2Client(
        client_name=name, grant_types=["client_credentials"], scope="api read write", owner="sdk-owner",
        audience=["https://api.example.com"]))
    assert replaced.scope == "api read write" and replaced.client_secret is None

    patched = await call(sdk.patch_o_auth2_client, cid, [
        JsonPatch(op="replace", path="/client_name", value=name + "-patched"),
        JsonPatch(op="add", path="/contacts/-", value="ops@example.com")])
    assert patched.client_name == name + "-patched" and patched.contacts == ["ops@example.com"]

    lifespans = await call(sdk.set_o_auth2_client_lifespans, cid, OAuth2ClientTokenLifespans(
        client_credentials_grant_access_token_lifespan="10m"))
    assert lifespans.client_credentials_grant_access_token_lifespan == "10m0s"

    r = await public.post("/oauth2/token", headers=basic(cid, "sdk-secret-123"),
                          data={"grant_type": "client_credentials", "scope": "api write"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["expires_in"] == 600

    info = await call(sdk.introspect_o_auth2_token, token)
    assert info.active is True and info.client_id == cid and info.sub == cid
    assert info.scope == "api write" and info.token_use == "access_token" and info.token_type == "Bearer"
    assert info.exp - info.iat == 600 and info.aud == []
    assert (await call(sdk.introspect_o_auth2_token, token, scope="read")).active is False
    assert (await call(sdk.introspect_o_auth2_token, "ory_at_garbage.sig")).active is False

    await call(sdk.delete_o_auth2_token, cid)
    assert (await call(sdk.introspect_o_auth2_token, token)).active is False

    await call(sdk.delete_o_auth2_client, cid)
    with pytest.raises(hydra.ApiException) as info:
        await call(sdk.get_o_auth2_client, cid)
    assert info.value.status == 404


async def test_sdk_sees_hydra_errors(sdk):
    cid = f"sdk-dup-{uuid.uuid4()}"
    await call(sdk.create_o_auth2_client, OAuth2Client(client_id=cid))
    with pytest.raises(hydra.ApiException) as info:
        await call(sdk.create_o_auth2_client, OAuth2Client(client_id=cid))
    assert info.value.status == 409
    with pytest.raises(hydra.ApiException) as info:
        await call(sdk.create_o_auth2_client, OAuth2Client(client_secret="short"))
    assert info.value.status == 400 and "invalid_client_metadata" in info.value.body
    await call(sdk.delete_o_auth2_client, cid)


async def test_sdk_reads_a_client_with_every_field(sdk, admin):
    r = await admin.post("/admin/clients", json={
        "client_name": "everything", "redirect_uris": ["https://app.example.com/cb"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code", "code id_token"], "scope": "openid offline api", "audience": ["https://api"],
        "owner": "o", "policy_uri": "https://app.example.com/p", "allowed_cors_origins": ["https://app.example.com"],
        "tos_uri": "https://app.example.com/t", "client_uri": "https://app.example.com",
        "logo_uri": "https://app.example.com/l.png", "contacts": ["a@example.com"],
        "token_endpoint_auth_method": "client_secret_post", "frontchannel_logout_uri": "https://app.example.com/fl",
        "frontchannel_logout_session_required": True, "backchannel_logout_uri": "https://app.example.com/bl",
        "backchannel_logout_session_required": True, "post_logout_redirect_uris": ["https://app.example.com/out"],
        "metadata": {"nested": {"list": [1, "two", None]}}, "skip_consent": True, "skip_logout_consent": True,
        "authorization_code_grant_access_token_lifespan": "30m", "refresh_token_grant_refresh_token_lifespan": "720h",
        "request_uris": ["https://app.example.com/r"], "access_token_strategy": "opaque"})
    assert r.status_code == 201, r.text
    cid = r.json()["client_id"]
    got = await call(sdk.get_o_auth2_client, cid)
    assert got.client_name == "everything" and got.skip_consent is True and got.skip_logout_consent is True
    assert got.metadata == {"nested": {"list": [1, "two", None]}} and got.response_types == ["code", "code id_token"]
    assert got.authorization_code_grant_access_token_lifespan == "30m0s"
    assert got.refresh_token_grant_refresh_token_lifespan == "720h0m0s"
    assert got.frontchannel_logout_session_required is True and got.access_token_strategy == "opaque"
    # every client stored so far, of every shape other tests made, deserialises
    listed = await call(sdk.list_o_auth2_clients, page_size=500)
    assert cid in [c.client_id for c in listed]
    await call(sdk.delete_o_auth2_client, cid)
