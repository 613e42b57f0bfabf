"""openid-client v6 (npm), a certified OpenID Connect relying party, accepts hydralite's flow."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "oidc_client"
REDIRECT = "http://127.0.0.1:5556/cb"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`make test` installs openid-client with npm; the test installs it too when run on its own."""
    if not (HERE / "node_modules" / "openid-client").exists():
        npm = shutil.which("npm")
        assert npm, "npm is required for the openid-client test (Node.js 20+)"
        import subprocess

        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    return HERE / "node_modules"


async def run_flow(server, client: dict, *mode: str) -> dict:
    """Run flow.mjs for `client`; returns the JSON line it prints."""
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node", str(HERE / "flow.mjs"), f"{server.public_url}/", client["client_id"],
        client["client_secret"], REDIRECT, server.admin_url, *mode,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_openid_client_discovery_code_pkce_refresh_userinfo(node_modules, server, make_client):
    client = await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                               redirect_uris=[REDIRECT], scope="openid offline_access email")
    result = await run_flow(server, client)
    assert result["responseType"] == "code" and result["swappedCode"] is None
    assert result["sub"] == "foo@bar.com" and result["nonce"] is True and result["email"] == "foo@bar.com"
    assert result["refreshed"] and result["rotated"]
    assert result["userinfo"]["sub"] == "foo@bar.com" and client["client_id"] in result["userinfo"]["aud"]


async def test_openid_client_hybrid_code_id_token_validates_c_hash(node_modules, server, make_client):
    """openid-client's hybrid flow: the front-channel ID token's signature, nonce and c_hash, then the code."""
    client = await make_client(grant_types=["authorization_code", "refresh_token"], response_types=["code id_token"],
                               redirect_uris=[REDIRECT], scope="openid offline_access email")
    result = await run_flow(server, client, "hybrid")
    assert result["responseType"] == "code id_token" and result["inFragment"] is True
    assert "c_hash" in result["swappedCode"]  # a code that does not match c_hash is refused by openid-client
    assert result["sub"] == "foo@bar.com" and result["nonce"] is True and result["email"] == "foo@bar.com"
    assert result["refreshed"] and result["rotated"] and result["userinfo"]["sub"] == "foo@bar.com"
