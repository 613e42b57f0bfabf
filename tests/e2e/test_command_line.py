"""The hydralite command line against a running server, as Hydra's guides use it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

import asyncpg
import httpx

from tests.e2e.browser import Browser, query


async def cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "ORY_SDK_URL"}
    full_env.update(env or {})
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hydralite", *args], capture_output=True,
                                   text=True, timeout=60, env=full_env)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


async def test_issue_sequence_create_perform_introspect_delete(server):
    admin, public = ["-e", server.admin_url], ["-e", server.public_url]
    created = json.loads((await cli("create", "oauth2-client", "--name", "demo", "--grant-type",
                                    "client_credentials", "--scope", "api", "--format", "json", *admin)).stdout)
    assert created["client_name"] == "demo" and created["grant_types"] == ["client_credentials"]
    cid, secret = created["client_id"], created["client_secret"]
    table = (await cli("perform", "client-credentials", "--client-id", cid, "--client-secret", secret,
                       "--scope", "api", *public)).stdout
    assert table.splitlines()[0].split() == ["ACCESS", "TOKEN", "REFRESH", "TOKEN", "ID", "TOKEN", "EXPIRY"]
    token = json.loads((await cli("perform", "client-credentials", "--client-id", cid, "--client-secret", secret,
                                  "--format", "json", *public)).stdout)
    assert token["access_token"].startswith("ory_at_") and token["token_type"] == "bearer" and token["expiry"]
    info = json.loads((await cli("introspect", "token", token["access_token"], "--format", "json", *admin)).stdout)
    assert info["active"] is True and info["client_id"] == cid
    shown = (await cli("introspect", "token", token["access_token"], *admin)).stdout
    assert shown.splitlines()[1].split()[0] == "true"
    assert (await cli("delete", "access-tokens", cid, *admin)).stdout.strip() == cid
    info = json.loads((await cli("introspect", "token", token["access_token"], "--format", "json", *admin)).stdout)
    assert info == {"active": False}


async def test_client_commands_and_formats(server, tmp_path):
    env = {"ORY_SDK_URL": server.admin_url}
    quiet = (await cli("create", "client", "--id", "cli-client-1", "--secret", "cli-secret-1", "-g",
                       "client_credentials,refresh_token", "--redirect-uri", "http://127.0.0.1:1/cb", "--quiet",
                       env=env)).stdout.strip()
    assert quiet == "cli-client-1"
    got = json.loads((await cli("get", "oauth2-client", "cli-client-1", "--format", "json", env=env)).stdout)
    assert got["grant_types"] == ["client_credentials", "refresh_token"] and "client_secret" not in got
    updated = json.loads((await cli("update", "oauth2-client", "cli-client-1", "--name", "renamed", "--format",
                                    "json", env=env)).stdout)
    assert updated["client_name"] == "renamed" and updated["redirect_uris"] == ["http://127.0.0.1:1/cb"]
    listed = json.loads((await cli("list", "oauth2-clients", "--page-size", "1", "--format", "json",
                                   env=env)).stdout)
    assert len(listed["items"]) == 1 and listed["is_last_page"] is False and listed["next_page_token"]
    file = tmp_path / "client.json"
    file.write_text(json.dumps({"client_id": "cli-imported", "client_secret": "imported-secret",
                                "grant_types": ["client_credentials"]}))
    assert "cli-imported" in (await cli("import", "oauth2-client", str(file), env=env)).stdout
    yaml_out = (await cli("get", "oauth2-client", "cli-imported", "--format", "yaml", env=env)).stdout
    assert "client_id: cli-imported" in yaml_out
    deleted = (await cli("delete", "oauth2-client", "cli-client-1", "cli-imported", env=env)).stdout.split()
    assert deleted == ["cli-client-1", "cli-imported"]
    missing = await cli("get", "oauth2-client", "cli-client-1", env=env, check=False)
    assert missing.returncode == 1 and "404" in missing.stderr and "Traceback" not in missing.stderr


async def test_unreachable_server_is_one_line_and_exit_1():
    proc = await cli("list", "oauth2-clients", "-e", "http://127.0.0.1:9", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "could not reach the admin API" in proc.stderr


async def test_jwk_commands(server):
    admin = ["-e", server.admin_url]
    created = json.loads((await cli("create", "jwk", "cli-set", "cli-kid", "--alg", "ES256", "--format", "json",
                                    *admin)).stdout)
    assert created["keys"][0]["kid"] == "cli-kid" and "d" in created["keys"][0]
    public = json.loads((await cli("get", "jwk", "cli-set", "--public", "--format", "json", *admin)).stdout)
    assert "d" not in public["keys"][0]
    assert (await cli("delete", "jwk", "cli-set", *admin)).stdout.strip() == "cli-set"


async def test_five_minute_tutorial_old_spellings(server):
    created = await cli("clients", "create", "--endpoint", server.admin_url, "--id", "tutorial-client", "--secret",
                        "tutorial-secret", "-g", "client_credentials")
    assert "tutorial-client" in created.stdout and "create oauth2-client" in created.stderr
    token = await cli("token", "client", "--endpoint", server.public_url, "--client-id", "tutorial-client",
                      "--client-secret", "tutorial-secret", "--quiet")
    access = token.stdout.strip()
    assert access.startswith("ory_at_") and "perform client-credentials" in token.stderr
    info = await cli("token", "introspect", "--endpoint", server.admin_url, access, "--format", "json")
    assert json.loads(info.stdout)["active"] is True
    revoked = await cli("token", "revoke", "--endpoint", server.public_url, "--client-id", "tutorial-client",
                        "--client-secret", "tutorial-secret", access)
    assert revoked.returncode == 0
    info = await cli("introspect", "token", "-e", server.admin_url, access, "--format", "json")
    assert json.loads(info.stdout)["active"] is False


async def test_perform_authorization_code(server, admin, make_client):
    port = 47000 + os.getpid() % 1000
    redirect = f"http://127.0.0.1:{port}/callback"
    client = await make_client(grant_types=["authorization_code", "refresh_token"], redirect_uris=[redirect],
                               scope="openid offline")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hydralite", "perform", "authorization-code", "--no-open", "-p", str(port),
        "--client-id", client["client_id"], "--client-secret", client["client_secret"], "-e", server.public_url,
        "--format", "json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        url = None
        while url is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), timeout=30)).decode()
            assert line, "perform authorization-code exited early"
            if line.startswith("http"):
                url = line.strip()
        async with httpx.AsyncClient(timeout=10) as http:
            start = await http.get(f"http://127.0.0.1:{port}/")
            assert re.search(r"/oauth2/auth\?", start.text)
        browser = Browser(server.public_url, admin)
        try:
            back = await browser.consent(await browser.login(await browser.start(url)))
            assert back.status_code == 303
            callback = back.headers["location"]
            assert query(callback)["code"]
            done = await browser.get(callback)
            assert done.status_code == 200 and "Access Token: <code>ory_at_" in done.text  # Hydra's result page
        finally:
            await browser.close()
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    tokens = json.loads(out.decode())
    assert tokens["access_token"].startswith("ory_at_") and tokens["refresh_token"].startswith("ory_rt_")
    assert tokens["id_token"].count(".") == 2


async def test_janitor_deletes_expired_tokens(server, make_client, public):
    from tests.conftest import basic

    client = await make_client(scope="api")
    auth = basic(client["client_id"], client["client_secret"])
    tokens = [(await public.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth)).json()
              for _ in range(3)]
    conn = await asyncpg.connect(server.dsn)
    try:
        await conn.execute("UPDATE hydralite_access_token SET expires_at = now() - interval '1 hour' "
                           "WHERE client_id = $1", client["client_id"])
        result = await cli("janitor", server.dsn, "--batch-size", "2")
        assert "expired access tokens" in result.stderr and "Janitor deleted" in result.stdout
        left = await conn.fetchval("SELECT count(*) FROM hydralite_access_token WHERE client_id = $1",
                                   client["client_id"])
    finally:
        await conn.close()
    assert left == 0 and len(tokens) == 3
    bad = await cli("janitor", env={"DSN": ""}, check=False)
    assert bad.returncode == 1 and "DSN" in bad.stderr


async def test_import_jwk_revoke_token_and_version(server, tmp_path, make_client, public):
    from tests.conftest import basic

    key_file = tmp_path / "key.json"
    created = json.loads((await cli("create", "jwk", "src-set", "--alg", "EdDSA", "--format", "json",
                                    "-e", server.admin_url)).stdout)
    key_file.write_text(json.dumps(created))
    imported = json.loads((await cli("import", "jwk", "dst-set", str(key_file), "--format", "json",
                                     "-e", server.admin_url)).stdout)
    assert [k["kid"] for k in imported["keys"]] == [created["keys"][0]["kid"]]

    client = await make_client(scope="api")
    token = (await public.post("/oauth2/token", data={"grant_type": "client_credentials"},
                               headers=basic(client["client_id"], client["client_secret"]))).json()["access_token"]
    revoked = await cli("revoke", "token", token, "-e", server.public_url,
                        env={"OAUTH2_CLIENT_ID": client["client_id"], "OAUTH2_CLIENT_SECRET": client["client_secret"]})
    assert revoked.stdout.strip() == token
    info = json.loads((await cli("introspect", "token", token, "--format", "json", "-e", server.admin_url)).stdout)
    assert info == {"active": False}
    assert "Version" in (await cli("version")).stdout
