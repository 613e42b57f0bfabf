"""Replicas on one database (issue 13 item 5): two hydralite servers (separate processes, as on separate machines,
behind one issuer URL) share one PostgreSQL and behave as one.

The database starts empty: both replicas migrate it at once (`migrate sql up`, as two init containers would) and then
start at once. A token issued by one introspects on the other; revocation, client deletion, a new secret, a consent
revocation and a key rotation done through one are honoured by the other on its next request, even where it
remembered the client or the key set; codes and refresh tokens stay single use across servers."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest

from tests.conftest import ROOT, SCRATCH, basic, free_port, server_env, wait_ready
from tests.e2e.browser import Browser

AT_SET = "hydra.jwt.access-token"
REDIRECT = "http://127.0.0.1:5555/callback"


@dataclass
class Replica:
    public: httpx.AsyncClient
    admin: httpx.AsyncClient
    public_url: str


@dataclass
class Pair:
    a: Replica
    b: Replica
    dsn: str
    migrations: list[subprocess.CompletedProcess]
    logs: list[Path]


@pytest.fixture(scope="module")
def empty_dsn(postgres) -> str:
    return asyncio.run(postgres.create_database())  # not from the template: the replicas migrate it


@pytest.fixture(scope="module")
def started(empty_dsn) -> Iterator[tuple[list[subprocess.CompletedProcess], list[tuple[str, str]], list[Path]]]:
    """Migrate from two processes at once, then start both servers at once; stopped by PID at the end."""
    env = server_env(empty_dsn, 0, 0)
    migrate = [subprocess.Popen([sys.executable, "-m", "hydralite", "migrate", "sql", "up", "-e", "--yes"], env=env,
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    migrations = []
    for process in migrate:
        out, err = process.communicate(timeout=120)
        migrations.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    ports = [(free_port(), free_port()) for _ in range(2)]
    issuer = f"http://127.0.0.1:{ports[0][0]}/"  # one issuer, as behind a load balancer
    processes, logs = [], []
    for public_port, admin_port in ports:
        log_path = Path(tempfile.mkstemp(prefix="replica-", suffix=".log", dir=SCRATCH)[1])
        with open(log_path, "w") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "hydralite", "serve", "all", "--dev"],
                env=server_env(empty_dsn, public_port, admin_port, URLS_SELF_ISSUER=issuer), cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT))
        logs.append(log_path)
    try:
        for process, (_, admin_port), log_path in zip(processes, ports, logs, strict=True):
            wait_ready(f"http://127.0.0.1:{admin_port}/health/ready", process, log_path)
        yield migrations, [(f"http://127.0.0.1:{p}", f"http://127.0.0.1:{a}") for p, a in ports], logs
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def pair(started, empty_dsn) -> AsyncIterator[Pair]:
    migrations, urls, logs = started
    replicas = [Replica(httpx.AsyncClient(base_url=public, timeout=30), httpx.AsyncClient(base_url=admin, timeout=30),
                        public) for public, admin in urls]
    try:
        yield Pair(replicas[0], replicas[1], empty_dsn, migrations, logs)
    finally:
        for r in replicas:
            await r.public.aclose()
            await r.admin.aclose()


async def new_client(replica: Replica, **fields) -> dict:
    fields.setdefault("client_secret", "replica-secret-" + uuid.uuid4().hex[:8])
    fields.setdefault("grant_types", ["client_credentials"])
    fields.setdefault("scope", "api")
    created = await replica.admin.post("/admin/clients", json=fields)
    assert created.status_code == 201, created.text
    return created.json()


async def cc_token(replica: Replica, client_id: str, secret: str) -> httpx.Response:
    return await replica.public.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "api"},
                                     headers=basic(client_id, secret))


async def active(replica: Replica, token: str) -> bool:
    answer = await replica.admin.post("/admin/oauth2/introspect", data={"token": token})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


def header(jwt: str) -> dict:
    part = jwt.split(".")[0]
    return orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_replicas_migrated_an_empty_database_together_once(pair):
    for done in pair.migrations:
        assert done.returncode == 0, done.stderr
    applied = [line for done in pair.migrations for line in done.stdout.splitlines() if "Applied migration" in line]
    conn = await asyncpg.connect(pair.dsn)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM hydralite_migration ORDER BY 1")]
    finally:
        await conn.close()
    expected = sorted(p.stem for p in (ROOT / "sql" / "migrations").glob("*.sql"))
    assert versions == expected
    assert len(applied) == len(expected), applied  # each applied by exactly one of the two processes


async def test_both_replicas_publish_one_first_key(pair):
    """First use of the key sets from both servers at once still creates one key per set."""
    a, b = await asyncio.gather(pair.a.public.get("/.well-known/jwks.json"),
                                pair.b.public.get("/.well-known/jwks.json"))
    kids_a = [k["kid"] for k in a.json()["keys"]]
    assert kids_a == [k["kid"] for k in b.json()["keys"]] and len(kids_a) == 2, (a.text, b.text)


async def test_a_token_from_one_introspects_on_the_other(pair):
    client = await new_client(pair.a)
    from_a = await cc_token(pair.a, client["client_id"], client["client_secret"])
    from_b = await cc_token(pair.b, client["client_id"], client["client_secret"])
    assert from_a.status_code == from_b.status_code == 200, (from_a.text, from_b.text)
    assert await active(pair.b, from_a.json()["access_token"])
    assert await active(pair.a, from_b.json()["access_token"])


async def test_revocation_through_one_is_honoured_by_the_other(pair):
    client = await new_client(pair.a)
    cid, secret = client["client_id"], client["client_secret"]
    token = (await cc_token(pair.a, cid, secret)).json()["access_token"]
    assert await active(pair.a, token)
    revoked = await pair.b.public.post("/oauth2/revoke", data={"token": token}, headers=basic(cid, secret))
    assert revoked.status_code == 200, revoked.text
    assert not await active(pair.a, token)
    other = (await cc_token(pair.b, cid, secret)).json()["access_token"]
    assert (await pair.a.admin.delete("/admin/oauth2/tokens", params={"client_id": cid})).status_code == 204
    assert not await active(pair.b, other)


async def test_client_deletion_through_one_is_honoured_by_the_other_that_remembered_it(pair):
    client = await new_client(pair.a)
    cid, secret = client["client_id"], client["client_secret"]
    for _ in range(2):  # the second is answered from B's memory of the verified client
        token = await cc_token(pair.b, cid, secret)
        assert token.status_code == 200, token.text
    assert (await pair.a.admin.delete(f"/admin/clients/{cid}")).status_code == 204
    refused = await cc_token(pair.b, cid, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
    assert not await active(pair.b, token.json()["access_token"])


async def test_a_new_secret_through_one_is_honoured_by_the_other_that_remembered_the_old(pair):
    client = await new_client(pair.a)
    cid, old = client["client_id"], client["client_secret"]
    for _ in range(2):
        assert (await cc_token(pair.b, cid, old)).status_code == 200
    patched = await pair.a.admin.patch(f"/admin/clients/{cid}", json=[
        {"op": "replace", "path": "/client_secret", "value": "a-new-replica-secret"}])
    assert patched.status_code == 200, patched.text
    stale = await cc_token(pair.b, cid, old)
    assert stale.status_code == 401 and stale.json()["error"] == "invalid_client", stale.text
    assert (await cc_token(pair.b, cid, "a-new-replica-secret")).status_code == 200


async def code_flow_client(pair: Pair) -> dict:
    return await new_client(pair.a, grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                            scope="openid offline_access", redirect_uris=[REDIRECT])


async def authorization_code(pair: Pair, client: dict) -> str:
    """The browser part, through A (the issuer), answering login and consent through A's admin API."""
    browser = Browser(pair.a.public_url, pair.a.admin)
    try:
        code, _ = await browser.code(client, REDIRECT, "openid offline_access")
    finally:
        await browser.close()
    return code


async def redeem(replica: Replica, client: dict, code: str) -> httpx.Response:
    return await replica.public.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                            "redirect_uri": REDIRECT},
                                     headers=basic(client["client_id"], client["client_secret"]))


async def refresh(replica: Replica, client: dict, token: str) -> httpx.Response:
    return await replica.public.post("/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": token},
                                     headers=basic(client["client_id"], client["client_secret"]))


async def test_consent_revocation_through_one_is_honoured_by_the_other(pair):
    client = await code_flow_client(pair)
    tokens = await redeem(pair.b, client, await authorization_code(pair, client))
    assert tokens.status_code == 200, tokens.text
    access, refresh_token = tokens.json()["access_token"], tokens.json()["refresh_token"]
    assert await active(pair.b, access)
    revoked = await pair.a.admin.delete("/admin/oauth2/auth/sessions/consent",
                                        params={"subject": "foo@bar.com", "client": client["client_id"]})
    assert revoked.status_code == 204, revoked.text
    assert not await active(pair.b, access)
    refused = await refresh(pair.b, client, refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text


async def test_a_code_is_redeemed_once_across_servers(pair):
    client = await code_flow_client(pair)
    code = await authorization_code(pair, client)
    answers = await asyncio.gather(redeem(pair.a, client, code), redeem(pair.b, client, code))
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    assert [r.json()["error"] for r in answers if r.status_code == 400] == ["invalid_grant"]


async def test_a_refresh_token_is_used_once_across_servers(pair):
    client = await code_flow_client(pair)
    tokens = (await redeem(pair.a, client, await authorization_code(pair, client))).json()
    answers = await asyncio.gather(refresh(pair.a, client, tokens["refresh_token"]),
                                   refresh(pair.b, client, tokens["refresh_token"]))
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]


async def test_a_key_rotation_through_one_signs_the_next_token_on_the_other(pair):
    """B has the access-token set in memory; after A adds a key, the very next JWT B mints carries the new kid, and
    after A deletes the old key, B no longer accepts tokens it signed."""
    client = await new_client(pair.a, access_token_strategy="jwt")
    cid, secret = client["client_id"], client["client_secret"]
    before = (await cc_token(pair.b, cid, secret)).json()["access_token"]
    old_kid = header(before)["kid"]
    assert header((await cc_token(pair.b, cid, secret)).json()["access_token"])["kid"] == old_kid  # from memory

    created = await pair.a.admin.post(f"/admin/keys/{AT_SET}", json={"alg": "RS256", "use": "sig"})
    assert created.status_code == 201, created.text
    new_kid = created.json()["keys"][0]["kid"]
    after = (await cc_token(pair.b, cid, secret)).json()["access_token"]
    assert header(after)["kid"] == new_kid != old_kid
    assert new_kid in [k["kid"] for k in (await pair.b.public.get("/.well-known/jwks.json")).json()["keys"]]
    assert await active(pair.b, before)  # older keys verify until deleted

    assert (await pair.a.admin.delete(f"/admin/keys/{AT_SET}/{old_kid}")).status_code == 204
    assert not await active(pair.b, before)
    assert await active(pair.b, after)


async def listener_pids(dsn: str) -> set[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE application_name = 'hydralite-listener' "
                                "AND datname = current_database()")
    finally:
        await conn.close()
    return {r["pid"] for r in rows}


async def test_a_dropped_listener_reconnects_and_rotation_still_reaches_the_other(pair):
    """The listening connections are killed by the database; each server reconnects (dropping its cached sets, as it
    may have missed messages) and key changes reach it again."""
    old = await listener_pids(pair.dsn)
    assert len(old) == 2, old  # one per server (one worker each)
    client = await new_client(pair.a, access_token_strategy="jwt")
    cid, secret = client["client_id"], client["client_secret"]
    assert (await cc_token(pair.b, cid, secret)).status_code == 200  # B has the set in memory
    conn = await asyncpg.connect(pair.dsn)
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                           list(old))
    finally:
        await conn.close()
    for _ in range(300):  # the listeners come back after a short back-off
        current = await listener_pids(pair.dsn)
        if len(current) == 2 and not current & old:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"the listeners did not reconnect: {current}")
    created = await pair.a.admin.post(f"/admin/keys/{AT_SET}", json={"alg": "RS256", "use": "sig"})
    assert created.status_code == 201, created.text
    token = (await cc_token(pair.b, cid, secret)).json()["access_token"]
    assert header(token)["kid"] == created.json()["keys"][0]["kid"]
