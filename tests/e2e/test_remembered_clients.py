"""A client remembered after authentication is never honoured once its row changes (secret, scopes, deletion)."""

from __future__ import annotations

from tests.conftest import basic


async def _token(public, client_id, secret, **data):
    return await public.post("/oauth2/token", data={"grant_type": "client_credentials", **data},
                             headers=basic(client_id, secret))


async def test_new_secret_takes_effect_at_once(admin, public, make_client):
    client = await make_client(scope="api")
    cid, old = client["client_id"], client["client_secret"]
    assert (await _token(public, cid, old)).status_code == 200
    assert (await _token(public, cid, old)).status_code == 200  # now answered from memory
    patched = await admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/client_secret", "value": "a-brand-new-secret"}])
    assert patched.status_code == 200
    stale = await _token(public, cid, old)
    assert stale.status_code == 401 and stale.json()["error"] == "invalid_client"
    assert (await _token(public, cid, "a-brand-new-secret")).status_code == 200


async def test_deleted_client_is_refused_at_once(admin, public, make_client):
    client = await make_client(scope="api")
    cid, secret = client["client_id"], client["client_secret"]
    assert (await _token(public, cid, secret)).status_code == 200
    assert (await _token(public, cid, secret)).status_code == 200
    assert (await admin.delete(f"/admin/clients/{cid}")).status_code == 204
    gone = await _token(public, cid, secret)
    assert gone.status_code == 401 and gone.json()["error"] == "invalid_client"


async def test_added_scope_is_usable_at_once(admin, public, make_client):
    client = await make_client(scope="api")
    cid, secret = client["client_id"], client["client_secret"]
    assert (await _token(public, cid, secret, scope="api")).status_code == 200
    refused = await _token(public, cid, secret, scope="extra")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert (await admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/scope", "value": "api extra"}])).status_code == 200
    assert (await _token(public, cid, secret, scope="extra")).status_code == 200
    assert (await admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/scope", "value": "api"}])).status_code == 200
    assert (await _token(public, cid, secret, scope="extra")).status_code == 400
