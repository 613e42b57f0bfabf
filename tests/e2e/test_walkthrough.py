"""The README walkthrough (a curl guide written for Ory Hydra), over real sockets."""

from __future__ import annotations

from tests.conftest import basic


async def test_hydra_guide_transcript(admin, public):
    created = await admin.post("/admin/clients", json={
        "access_token_strategy": "opaque", "client_name": "my_client", "client_secret": "my_secret",
        "grant_types": ["client_credentials"], "scope": "api"})
    assert created.status_code == 201
    client = created.json()
    assert client["client_secret"] == "my_secret"
    assert client["client_name"] == "my_client"
    assert client["grant_types"] == ["client_credentials"]
    assert client["token_endpoint_auth_method"] == "client_secret_basic"
    assert created.headers["location"] == f"/admin/clients/{client['client_id']}"

    token = await public.post("/oauth2/token", headers=basic(client["client_id"], "my_secret"),
                              data={"grant_type": "client_credentials", "scope": "api"})
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "bearer" and body["scope"] == "api" and body["expires_in"] == 3600
    assert body["access_token"].startswith("ory_at_")
    assert token.headers["cache-control"] == "no-store" and token.headers["pragma"] == "no-cache"

    info = await admin.post("/admin/oauth2/introspect", content=f"token={body['access_token']}&scop=api",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert info.status_code == 200
    data = info.json()
    assert data["active"] is True
    assert data["client_id"] == client["client_id"] == data["sub"]
    assert data["scope"] == "api" and data["token_use"] == "access_token" and data["token_type"] == "Bearer"
    assert data["exp"] - data["iat"] == 3600

    deleted = await admin.delete("/admin/oauth2/tokens", params={"client_id": client["client_id"]})
    assert deleted.status_code == 204
    info = await admin.post("/admin/oauth2/introspect", data={"token": body["access_token"], "scop": "api"})
    assert info.json() == {"active": False}
