"""`clients.http.disallow_private_ip_ranges`: every URI hydralite may call for a client is checked when the client is
written, as Hydra's validator checks them (jwks_uri, backchannel_logout_uri, sector_identifier_uri, request_uris.N):
400 invalid_client_metadata naming the field (SECURITY.md C13)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Server, run_server

PUBLIC = "http://93.184.216.34/doc"  # a global address: allowed without resolving anything


@pytest.fixture(scope="module")
async def server(postgres, template_db) -> AsyncIterator[Server]:
    """This module's server (conftest's `admin` talks to it)."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES="true") as srv:
        yield srv


BASE = {"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}


@pytest.mark.parametrize(("fields", "named"), [
    ({"jwks_uri": "http://127.0.0.1/jwks"}, "jwks_uri"),
    ({"backchannel_logout_uri": "http://169.254.169.254/logout"}, "backchannel_logout_uri"),
    ({"request_uris": [PUBLIC, "http://10.1.2.3/request"]}, "request_uris.1"),
    ({"jwks_uri": "http://[::1]/jwks", "request_uris": [PUBLIC]}, "jwks_uri"),
    # many URIs are looked up together; the first refused one in Hydra's order is named
    ({"request_uris": [*[PUBLIC] * 150, *[f"http://93.184.216.{i}/r" for i in range(100)], "http://10.0.0.1/a",
                       "http://[fd00::1]/b"]}, "request_uris.250"),
])
async def test_a_private_address_is_refused_naming_the_field(admin: httpx.AsyncClient, fields: dict,
                                                            named: str) -> None:
    response = await admin.post("/admin/clients", json={**BASE, **fields})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    assert f"Client IP address is not allowed: {named}: " in body["error_description"], body


async def test_public_addresses_are_accepted(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/admin/clients", json={**BASE, "jwks_uri": PUBLIC, "request_uris": [PUBLIC],
                                                        "backchannel_logout_uri": PUBLIC})
    assert response.status_code == 201, response.text
