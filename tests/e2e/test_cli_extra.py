"""CLI paths the main command-line test leaves out: table output, --file from stdin, bad input lines,
janitor on refresh tokens and on a database without the flow tables, the `token user` alias."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

from tests.e2e.test_command_line import cli


async def test_client_table_stdin_file_and_bad_input(server):
    admin = ["-e", server.admin_url]
    body = json.dumps({"client_id": "cli-stdin", "client_secret": "stdin-secret-123",
                       "grant_types": ["client_credentials"], "scope": "api"})
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hydralite", "create", "oauth2-client",
                                                    "--file", "-", *admin],
                                   input=body, capture_output=True, text=True, timeout=60,
                                   env={k: v for k, v in os.environ.items() if k != "ORY_SDK_URL"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["CLIENT", "ID", "CLIENT", "SECRET", "GRANT", "TYPES", "RESPONSE", "TYPES",
                                "SCOPE", "AUDIENCE", "REDIRECT", "URIS"]
    assert lines[1].split()[:3] == ["cli-stdin", "stdin-secret-123", "client_credentials"]
    listed = (await cli("list", "oauth2-clients", *admin)).stdout
    assert listed.splitlines()[0].startswith("CLIENT ID") and "cli-stdin" in listed
    pretty = (await cli("get", "oauth2-client", "cli-stdin", "--format", "json-pretty", *admin)).stdout
    assert pretty.startswith("{\n") and json.loads(pretty)["client_id"] == "cli-stdin"

    bad = await cli("create", "oauth2-client", "--file", "/nonexistent/client.json", *admin, check=False)
    assert bad.returncode == 1 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
    conflict = await cli("create", "oauth2-client", "--id", "cli-stdin", *admin, check=False)
    assert conflict.returncode == 1 and len(conflict.stderr.strip().splitlines()) == 1
    wrong = await cli("perform", "client-credentials", "--client-id", "cli-stdin", "--client-secret", "nope",
                      "-e", server.public_url, check=False)
    assert wrong.returncode == 1 and "invalid_client" in wrong.stderr and "Traceback" not in wrong.stderr
    assert (await cli("delete", "oauth2-client", "cli-stdin", *admin)).returncode == 0


async def test_janitor_refresh_tokens_and_missing_flow_tables(fresh_dsn):
    """A database without the flow tables (as before 0002) is cleaned without errors; expired and spent
    refresh tokens go, a live one stays; bad batch sizes are refused in one line."""
    conn = await asyncpg.connect(fresh_dsn)
    try:
        for table in ("hydralite_auth_code", "hydralite_flow", "hydralite_login_session"):
            await conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        await conn.execute("INSERT INTO hydralite_client (id, metadata) VALUES ('jc', '{}')")
        rows = [("expired", "true", "-1 hour", "NULL"), ("spent", "false", "1 hour", "NULL"),
                ("spent-now", "false", "1 hour", "now()"), ("live", "true", "1 hour", "NULL")]
        for signature, active, ttl, used in rows:
            await conn.execute(
                "INSERT INTO hydralite_refresh_token (signature, request_id, client_id, subject, scope, audience, "
                "active, requested_at, expires_at, used_at) VALUES ($1, 'r', 'jc', 's', '{}', '{}', "  # noqa: S608
                f"{active}, now() - interval '2 hours', now() + interval '{ttl}', {used})", signature)
        result = await cli("janitor", fresh_dsn, "--tokens", "--batch-size", "1", "--keep-if-younger", "1h")
        kept_recent = {r["signature"] for r in await conn.fetch("SELECT signature FROM hydralite_refresh_token")}
        await conn.execute("UPDATE hydralite_refresh_token SET used_at = now() - interval '1 day' "
                           "WHERE signature = 'spent-now'")
        await cli("janitor", fresh_dsn, "--limit", "5")
        left = {r["signature"] for r in await conn.fetch("SELECT signature FROM hydralite_refresh_token")}
    finally:
        await conn.close()
    # --keep-if-younger 1h keeps what was used within the hour; the rest of the spent and expired ones go.
    assert kept_recent == {"live", "spent-now"}
    assert "refresh tokens: deleted" in result.stderr and "login/consent" not in result.stderr
    assert left == {"live"}
    bad = await cli("janitor", fresh_dsn, "--batch-size", "0", check=False)
    assert bad.returncode == 1 and "--batch-size" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


async def test_token_user_alias_prints_url_and_checks_state(server, make_client):
    port = 46000 + os.getpid() % 1000
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[f"http://127.0.0.1:{port}/callback"],
                               scope="openid")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hydralite", "token", "user", "--no-open", "-p", str(port), "--client-id",
        client["client_id"], "--client-secret", client["client_secret"], "-e", server.public_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        url, seen = None, []
        while url is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), timeout=30)).decode()
            assert line, "token user exited early: " + "".join(seen)
            seen.append(line)
            if line.startswith("http"):
                url = line.strip()
        assert any("perform authorization-code" in s for s in seen)
        assert "code_challenge_method=S256" in url and "/oauth2/auth?" in url
        state = parse_qs(urlsplit(url).query)["state"][0]
        assert len(state) >= 32
        async with httpx.AsyncClient(timeout=10) as http:
            forged = await http.get(f"http://127.0.0.1:{port}/callback", params={"code": "x", "state": "forged"})
            assert forged.status_code >= 400
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_janitor_stale_flows_sessions_and_codes(fresh_dsn):
    """Stale unfinished flows, expired login sessions and codes go; remembered consents and live rows stay."""
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute("INSERT INTO hydralite_client (id, metadata) VALUES ('jc', '{}')")
        flows = [("stale-pending", "login_pending", "2 hours", "NULL"), ("fresh-pending", "login_pending", "1 minute",
                 "NULL"), ("remembered", "consent_used", "2 hours", "'{}'"),
                 ("rejected", "consent_used", "2 hours", "'{\"error\": \"access_denied\"}'")]
        for fid, status, age, consent in flows:
            await conn.execute(
                "INSERT INTO hydralite_flow (id, client_id, status, request, request_url, requested_scope, "
                "requested_audience, login_skip, login_csrf, consent, requested_at) VALUES ($1, 'jc', $2, '{}', "
                f"'u', '{{}}', '{{}}', false, 'c', {consent}, now() - interval '{age}')", fid, status)  # noqa: S608
        for sid, ttl in (("old-session", "-1 minute"), ("live-session", "1 hour")):
            await conn.execute("INSERT INTO hydralite_login_session (id, subject, authenticated_at, expires_at) "
                               f"VALUES ($1, 's', now(), now() + interval '{ttl}')", sid)  # noqa: S608
        for sig, ttl in (("old-code", "-1 minute"), ("live-code", "10 minutes")):
            await conn.execute("INSERT INTO hydralite_auth_code (signature, request_id, client_id, subject, scope, "
                               "audience, redirect_uri, requested_at, expires_at) VALUES ($1, 'r', 'jc', 's', '{}', "
                               f"'{{}}', 'u', now(), now() + interval '{ttl}')", sig)  # noqa: S608
        result = await cli("janitor", "-e", env={"DSN": fresh_dsn})
        left_flows = {r[0] for r in await conn.fetch("SELECT id FROM hydralite_flow")}
        left_sessions = {r[0] for r in await conn.fetch("SELECT id FROM hydralite_login_session")}
        left_codes = {r[0] for r in await conn.fetch("SELECT signature FROM hydralite_auth_code")}
    finally:
        await conn.close()
    assert left_flows == {"fresh-pending", "remembered"}
    assert left_sessions == {"live-session"} and left_codes == {"live-code"}
    assert "login/consent requests: deleted 2" in result.stderr and "Janitor deleted 4 rows." in result.stdout


async def test_ory_sdk_url_for_public_commands_and_bad_header(server, make_client):
    client = await make_client(scope="api")
    token = await cli("perform", "client-credentials", "--client-id", client["client_id"], "--client-secret",
                      client["client_secret"], "--quiet", env={"ORY_SDK_URL": server.public_url})
    assert token.stdout.strip().startswith("ory_at_")
    header = await cli("list", "oauth2-clients", "-H", "no-colon", "-e", server.admin_url, check=False)
    assert header.returncode == 1 and header.stderr.strip() == (
        "Error: invalid --http-header 'no-colon': use 'Name: value'")
    unknown = await cli("get", "jwk", "no-such-set", "-e", server.admin_url, check=False)
    assert unknown.returncode == 1 and "404" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
