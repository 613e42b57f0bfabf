"""CLI behaviour the walkthrough tests leave out: every client flag, update --file (PUT), bulk import and
get, introspection --scope, jwk tables, one-line errors for bad input, and janitor on flows, codes and
sessions (selection, --limit, the login/consent TTL from the environment)."""

from __future__ import annotations

import json

import asyncpg

from tests.e2e.test_command_line import cli


def one_error_line(proc) -> str:
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


async def test_every_client_flag_update_file_import_and_bulk_get(server, tmp_path):
    admin = ["-e", server.admin_url]
    created = json.loads((await cli(
        "create", "oauth2-client", "--id", "cli-all-flags", "--name", "All flags", "--secret", "all-flags-secret",
        "--grant-type", "client_credentials", "--grant-type", "refresh_token", "--response-type", "code",
        "--scope", "api read", "--scope", "write", "--audience", "aud-1,aud-2",
        "--redirect-uri", "http://127.0.0.1:1/cb", "--post-logout-callback", "http://127.0.0.1:1/out",
        "--token-endpoint-auth-method", "client_secret_basic", "--owner", "me", "--contact", "ops@example.com",
        "--metadata", '{"team": ["a", 1]}', "--skip-consent", "--access-token-strategy", "opaque",
        "--policy-uri", "http://127.0.0.1:1/policy", "--tos-uri", "http://127.0.0.1:1/tos",
        "--client-uri", "http://127.0.0.1:1/", "--logo-uri", "http://127.0.0.1:1/logo.png",
        "--format", "json", *admin)).stdout)
    expected = {"client_id": "cli-all-flags", "client_name": "All flags", "client_secret": "all-flags-secret",
                "grant_types": ["client_credentials", "refresh_token"], "response_types": ["code"],
                "scope": "api read write", "audience": ["aud-1", "aud-2"], "redirect_uris": ["http://127.0.0.1:1/cb"],
                "post_logout_redirect_uris": ["http://127.0.0.1:1/out"], "owner": "me",
                "token_endpoint_auth_method": "client_secret_basic", "contacts": ["ops@example.com"],
                "metadata": {"team": ["a", 1]}, "skip_consent": True, "access_token_strategy": "opaque",
                "policy_uri": "http://127.0.0.1:1/policy", "tos_uri": "http://127.0.0.1:1/tos",
                "client_uri": "http://127.0.0.1:1/", "logo_uri": "http://127.0.0.1:1/logo.png"}
    assert {k: created.get(k) for k in expected} == expected

    # update by flags merges into the stored client and keeps the secret working
    await cli("update", "oauth2-client", "cli-all-flags", "--owner", "you", *admin)
    token = await cli("perform", "client-credentials", "--client-id", "cli-all-flags", "--client-secret",
                      "all-flags-secret", "--scope", "api", "--audience", "aud-1", "--quiet", "-e", server.public_url)
    access = token.stdout.strip()
    assert access.startswith("ory_at_")
    info = json.loads((await cli("introspect", "token", access, "--format", "json", *admin)).stdout)
    assert info["active"] is True and info["scope"] == "api" and info["aud"] == ["aud-1"]

    # update --file is a PUT of the whole client: what the file leaves out is gone
    replacement = {**{k: v for k, v in created.items() if k != "client_secret"}, "client_name": "Replaced",
                   "audience": [], "contacts": []}
    (tmp_path / "put.json").write_text(json.dumps(replacement))
    put = json.loads((await cli("update", "oauth2-client", "cli-all-flags", "--file", str(tmp_path / "put.json"),
                                "--format", "json", *admin)).stdout)
    assert put["client_name"] == "Replaced" and put["audience"] == [] and put["contacts"] == []
    got = json.loads((await cli("get", "oauth2-client", "cli-all-flags", "--format", "json", *admin)).stdout)
    assert got["client_name"] == "Replaced" and got["owner"] == "me" and got["audience"] == []

    # import of a file holding a list, --quiet prints one id a line; get of several ids gives a list
    batch = [{"client_id": f"cli-batch-{i}", "client_secret": f"batch-secret-{i}",
              "grant_types": ["client_credentials"]} for i in (1, 2)]
    (tmp_path / "batch.json").write_text(json.dumps(batch))
    ids = (await cli("import", "oauth2-clients", str(tmp_path / "batch.json"), "--quiet", *admin)).stdout.split()
    assert ids == ["cli-batch-1", "cli-batch-2"]
    both = json.loads((await cli("get", "oauth2-client", "cli-batch-1", "cli-batch-2", "--format", "json",
                                 *admin)).stdout)
    assert [c["client_id"] for c in both] == ids and all("client_secret" not in c for c in both)
    table = (await cli("get", "oauth2-client", "cli-batch-1", "cli-batch-2", *admin)).stdout.splitlines()
    assert table[0].startswith("CLIENT ID") and [row.split()[0] for row in table[1:]] == ids
    listed = json.loads((await cli("list", "oauth2-clients", "--page-size", "500", "--format", "json",
                                   *admin)).stdout)
    assert listed["is_last_page"] is True and listed["next_page_token"] == ""
    assert {"cli-all-flags", *ids} <= {c["client_id"] for c in listed["items"]}
    await cli("delete", "oauth2-client", "cli-all-flags", *ids, *admin)
    gone = await cli("get", "oauth2-client", "cli-batch-2", *admin, check=False)
    assert "404" in one_error_line(gone)


async def test_introspect_scope_quiet_and_table(server, make_client, public):
    from tests.conftest import basic

    client = await make_client(scope="api other")
    token = (await public.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "api"},
                               headers=basic(client["client_id"], client["client_secret"]))).json()["access_token"]
    admin = ["-e", server.admin_url]
    assert (await cli("introspect", "token", token, "--scope", "api", "--quiet", *admin)).stdout.strip() == "true"
    assert (await cli("introspect", "token", token, "--scope", "other", "--quiet", *admin)).stdout.strip() == "false"
    table = (await cli("introspect", "token", token, *admin)).stdout.splitlines()
    assert table[0].split() == ["ACTIVE", "SUBJECT", "CLIENT", "ID", "SCOPE", "EXPIRY", "TOKEN", "USE"]
    assert client["client_id"] in table[1].split() and "api" in table[1].split()
    assert table[1].split()[0] == "true"  # Go's %v of a bool, as Hydra prints it (not Python's True)
    inactive = (await cli("introspect", "token", "ory_at_not-a-token", *admin)).stdout.splitlines()
    assert inactive[1].split()[0] == "false"


async def test_jwk_table_quiet_and_several_sets(server):
    admin = ["-e", server.admin_url]
    kid = (await cli("create", "jwk", "cli-table-a", "--quiet", *admin)).stdout.strip()
    table = (await cli("create", "jwk", "cli-table-b", "kid-b", "--alg", "ES256", *admin)).stdout.splitlines()
    assert table[0].split() == ["SET", "ID", "KEY", "ID", "ALGORITHM", "USE"]
    assert table[1].split() == ["cli-table-b", "kid-b", "ES256", "sig"]
    sets = json.loads((await cli("get", "jwk", "cli-table-a", "cli-table-b", "--public", "--format", "json",
                                 *admin)).stdout)["sets"]
    assert sets["cli-table-a"]["keys"][0]["kid"] == kid and sets["cli-table-b"]["keys"][0]["kid"] == "kid-b"
    assert all("d" not in key for jwks in sets.values() for key in jwks["keys"])
    assert (await cli("delete", "jwk", "cli-table-a", "cli-table-b", *admin)).stdout.split() == [
        "cli-table-a", "cli-table-b"]
    assert "404" in one_error_line(await cli("get", "jwk", "cli-table-a", *admin, check=False))


async def test_bad_input_and_server_errors_are_one_line(server):
    admin = ["-e", server.admin_url]
    bad_uri = one_error_line(await cli("create", "oauth2-client", "--redirect-uri", "not a url", *admin, check=False))
    assert "failed with 400: invalid_redirect_uri: The value of one or more redirect_uris is invalid" in bad_uri
    assert "--metadata must be JSON" in one_error_line(
        await cli("create", "oauth2-client", "--metadata", "{oops", *admin, check=False))
    assert "--http-header" in one_error_line(
        await cli("list", "oauth2-clients", "-H", "no-colon", *admin, check=False))
    assert (await cli("list", "oauth2-clients", "-H", "X-Trace: 1", "--quiet", *admin)).returncode == 0
    assert "OAUTH2_CLIENT_ID" in one_error_line(
        await cli("perform", "client-credentials", "--client-id", "x", "-e", server.public_url, check=False))
    unreachable = one_error_line(await cli("perform", "client-credentials", "--client-id", "a", "--client-secret",
                                           "b", "-e", "http://127.0.0.1:9", check=False))
    assert "could not reach the public API at http://127.0.0.1:9" in unreachable
    from_env = one_error_line(await cli("get", "oauth2-client", "x", check=False,
                                        env={"ORY_SDK_URL": "http://127.0.0.1:9/"}))
    assert "admin API at http://127.0.0.1:9 " in from_env


FLOW_SQL = ("INSERT INTO hydralite_flow (id, client_id, status, request, request_url, requested_scope, "
            "requested_audience, login_skip, login_csrf, consent, requested_at) VALUES ($1, 'jc', $2, '{}', '', "
            "'{}', '{}', false, 'csrf', $3::jsonb, now() - make_interval(mins => $4))")


async def test_janitor_flows_codes_sessions_selection_and_limit(fresh_dsn):
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute("INSERT INTO hydralite_client (id, metadata) VALUES ('jc', '{}')")
        flows = [("stale-1", "login_pending", None, 120), ("stale-2", "consent_pending", None, 120),
                 ("rejected", "consent_rejected", '{"error": "access_denied"}', 120),
                 ("used-denied", "consent_used", '{"error": "access_denied"}', 120),
                 ("used", "consent_used", "{}", 120), ("fresh", "login_pending", None, 1)]
        for flow in flows:
            await conn.execute(FLOW_SQL, *flow)
        for code, ttl in (("code-expired", "-1 minute"), ("code-live", "10 minutes")):
            await conn.execute(
                "INSERT INTO hydralite_auth_code (signature, request_id, client_id, subject, scope, audience, "
                "redirect_uri, requested_at, expires_at) VALUES ($1, 'r', 'jc', 's', '{}', '{}', 'http://x', "
                "now(), now() + $2::text::interval)", code, ttl)
        for session, ttl in (("session-expired", "-1 minute"), ("session-live", "1 day")):
            await conn.execute("INSERT INTO hydralite_login_session (id, subject, authenticated_at, expires_at) "
                               "VALUES ($1, 's', now(), now() + $2::text::interval)", session, ttl)

        async def names(table: str) -> set[str]:
            key = "signature" if table == "hydralite_auth_code" else "id"
            return {r[0] for r in await conn.fetch(f"SELECT {key} FROM {table}")}  # noqa: S608

        tokens_only = await cli("janitor", fresh_dsn, "--tokens")
        assert await names("hydralite_auth_code") == {"code-live"}
        assert len(await names("hydralite_flow")) == 6 and len(await names("hydralite_login_session")) == 2
        assert "authorization codes: deleted 1" in tokens_only.stderr and "login/consent" not in tokens_only.stderr

        # a login/consent TTL of 3h (from the environment, as Hydra's config) keeps the 2h-old flows
        await cli("janitor", fresh_dsn, "--requests", env={"TTL_LOGIN_CONSENT_REQUEST": "3h"})
        assert len(await names("hydralite_flow")) == 6
        assert await names("hydralite_login_session") == {"session-live"}

        limited = await cli("janitor", fresh_dsn, "--requests", "--limit", "1")
        assert len(await names("hydralite_flow")) == 5 and "Janitor deleted 1 rows." in limited.stdout

        # a DSN written for Hydra, with its pool options, works unchanged
        hydra_dsn = fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=20&max_idle_conns=4"
        rest = await cli("janitor", "-e", "--batch-size", "1", env={"DSN": hydra_dsn})
        assert await names("hydralite_flow") == {"used", "fresh"}
        assert "Janitor deleted 3 rows." in rest.stdout
        assert "stale or rejected login/consent requests: deleted 3" in rest.stderr
    finally:
        await conn.close()
    unreachable = one_error_line(await cli("janitor", "postgres://nobody@127.0.0.1:9/none", check=False))
    assert "janitor could not clean the database" in unreachable


async def test_hydra1_tutorial_spellings_bare_token_and_short_flags(server):
    """Hydra 1.x's tutorial: `clients create` with -n/-a/--grant-types/--response-types/--callbacks, then
    `token client` printing only the access token, as 1.x did, so it can be pasted into `token introspect`."""
    created = await cli("clients", "create", "--endpoint", server.admin_url + "/", "--id", "tut-auth-client",
                        "--secret", "tut-secret", "-n", "Tutorial", "--grant-types",
                        "authorization_code,refresh_token,client_credentials", "--response-types", "code",
                        "-a", "openid,offline", "--callbacks", "http://127.0.0.1:5555/callback",
                        "--allowed-cors-origins", "http://127.0.0.1:5555", "--format", "json")
    body = json.loads(created.stdout)
    assert body["client_name"] == "Tutorial" and body["scope"] == "openid offline"
    assert body["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert body["redirect_uris"] == ["http://127.0.0.1:5555/callback"]
    assert body["allowed_cors_origins"] == ["http://127.0.0.1:5555"]
    assert "hydralite create oauth2-client" in created.stderr
    token = await cli("token", "client", "--endpoint", server.public_url + "/", "--client-id", "tut-auth-client",
                      "--client-secret", "tut-secret", "--scope", "openid")
    assert token.stdout.count("\n") == 1 and token.stdout.startswith("ory_at_")
    as_json = json.loads((await cli("token", "client", "--endpoint", server.public_url, "--client-id",
                                    "tut-auth-client", "--client-secret", "tut-secret", "--format", "json")).stdout)
    assert as_json["token_type"] == "bearer" and as_json["access_token"].startswith("ory_at_")
    info = await cli("token", "introspect", "--endpoint", server.admin_url + "/", "--client-id", "tut-auth-client",
                     "--client-secret", "tut-secret", token.stdout.strip(), "--format", "json")  # as the tutorial
    assert json.loads(info.stdout)["scope"] == "openid" and "hydralite introspect token" in info.stderr
    listed = await cli("clients", "list", "--endpoint", server.admin_url, "--quiet")
    assert "tut-auth-client" in listed.stdout.split()
    assert (await cli("clients", "delete", "--endpoint", server.admin_url, "tut-auth-client")).returncode == 0


async def test_credentials_with_reserved_characters(server):
    """Basic credentials are form-encoded as Go's oauth2 does: ':' in the id, '+', '%' and ' ' in the secret."""
    admin, public = ["-e", server.admin_url], ["-e", server.public_url]
    cid, secret = "cli:odd+id", "se+cr%41et with:colon"
    await cli("create", "oauth2-client", "--id", cid, "--secret", secret, "-g", "client_credentials", *admin)
    token = (await cli("perform", "client-credentials", "--client-id", cid, "--client-secret", secret, "-q",
                       *public)).stdout.strip()
    info = json.loads((await cli("introspect", "token", token, "--format", "json", *admin)).stdout)
    assert info["active"] is True and info["client_id"] == cid
    await cli("revoke", "token", token, "--client-id", cid, "--client-secret", secret, *public)
    assert json.loads((await cli("introspect", "token", token, "--format", "json", *admin)).stdout) == {
        "active": False}
    wrong = await cli("perform", "client-credentials", "--client-id", cid, "--client-secret", "se cr%41et with:colon",
                      *public, check=False)
    assert "invalid_client" in one_error_line(wrong)
    await cli("delete", "oauth2-client", cid, *admin)


async def test_import_jwk_from_pem_and_der(server, tmp_path):
    """`import jwk` takes PEM and DER keys as Hydra's CLI does; a key without a kid gets a new one."""
    from joserfc.jwk import ECKey, RSAKey

    admin = ["-e", server.admin_url]
    rsa = RSAKey.generate_key(2048)
    (tmp_path / "rsa.pem").write_bytes(rsa.as_pem(private=True))
    (tmp_path / "ec.der").write_bytes(ECKey.generate_key("P-256").as_der(private=False))
    (tmp_path / "bad.pem").write_bytes(b"-----BEGIN NOTHING-----\n")
    await cli("import", "jwk", "cli-pem", str(tmp_path / "rsa.pem"), "--use", "sig", "--alg", "RS256", *admin)
    keys = json.loads((await cli("import", "jwk", "cli-pem", str(tmp_path / "ec.der"), "--alg", "ES256",
                                 "--format", "json", *admin)).stdout)["keys"]
    by_type = {k["kty"]: k for k in keys}
    assert by_type["RSA"]["n"] == rsa.as_dict()["n"] and by_type["RSA"]["alg"] == "RS256"
    assert by_type["EC"]["alg"] == "ES256" and "d" not in by_type["EC"]
    assert len({k["kid"] for k in keys}) == 2
    assert "neither JSON nor a PEM" in one_error_line(
        await cli("import", "jwk", "cli-pem", str(tmp_path / "bad.pem"), *admin, check=False))
    await cli("delete", "jwk", "cli-pem", *admin)


async def test_hydra1_aliases_read_hydra_url_and_hydra_admin_url(server):
    env = {"HYDRA_ADMIN_URL": server.admin_url, "HYDRA_URL": server.public_url}
    await cli("clients", "create", "--id", "cli-env-urls", "--secret", "env-url-secret", "-g", "client_credentials",
              env=env)
    token = (await cli("token", "client", "--client-id", "cli-env-urls", "--client-secret", "env-url-secret",
                       env=env)).stdout.strip()
    assert json.loads((await cli("token", "introspect", token, "--format", "json", env=env)).stdout)["active"]
    await cli("token", "revoke", token, "--client-id", "cli-env-urls", "--client-secret", "env-url-secret", env=env)
    assert json.loads((await cli("token", "introspect", token, "--format", "json", env=env)).stdout) == {
        "active": False}
    # the current spellings do not read the 1.x variables: ORY_SDK_URL or -e
    assert "127.0.0.1:4445" in one_error_line(await cli("get", "oauth2-client", "cli-env-urls", check=False,
                                                       env={**env, "ORY_SDK_URL": "http://127.0.0.1:4445"}))
    await cli("clients", "delete", "cli-env-urls", env=env)
