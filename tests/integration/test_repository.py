"""The PostgreSQL repository and migrations against a real, freshly migrated database."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hydralite import errors
from hydralite.db import migrate
from hydralite.db.pool import create_pool
from hydralite.db.repository import PgRepository
from hydralite.models import NewToken
from tests.conftest import ROOT

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def with_options(dsn: str, options: str) -> str:
    """Append Hydra DSN options (the test server's DSN may already carry `?host=/socket/dir`)."""
    return dsn + ("&" if "?" in dsn else "?") + options


@pytest.fixture
async def repo(fresh_dsn):
    pool = await create_pool(with_options(fresh_dsn,
        "sslmode=disable&max_conns=4&max_idle_conns=1&max_conn_lifetime=1h"))
    try:
        yield PgRepository(pool)
    finally:
        await pool.close()


def _token(sig: str, request_id: str, client_id: str, **kw) -> NewToken:
    return NewToken(signature=sig, request_id=request_id, client_id=client_id, subject=client_id,
                    scope=kw.get("scope", ["api"]), audience=kw.get("audience", []), requested_at=NOW,
                    expires_at=NOW + timedelta(hours=1))


async def test_hydra_dsn_options_size_the_pool(fresh_dsn):
    pool = await create_pool(with_options(fresh_dsn,
        "sslmode=disable&max_conns=3&max_idle_conns=2&max_conn_lifetime=1h"))
    try:
        assert pool.get_max_size() == 3 and pool.get_min_size() == 2
        async with pool.acquire() as conn:
            # The Hydra options never reached PostgreSQL as session settings.
            assert await conn.fetchval("SELECT current_setting('max_conns', true)") is None
            assert await conn.fetchval("SELECT current_setting('application_name')") == "hydralite"
    finally:
        await pool.close()


async def test_client_crud(repo):
    doc = {"client_name": "n", "owner": "o", "scope": "api", "metadata": {"k": "' OR 1=1--"}}
    client = await repo.insert_client("c1", "hash", "regsig", doc, NOW)
    assert client.id == "c1" and client.secret_hash == "hash" and client.metadata == doc
    assert client.created_at == NOW == client.updated_at and client.rotated_secrets == ()
    got = await repo.get_client("c1")
    assert got == client
    assert await repo.get_client("nope") is None

    later = NOW + timedelta(minutes=1)
    updated = await repo.update_client("c1", None, {**doc, "client_name": "m"}, later)
    assert updated.secret_hash == "hash" and updated.metadata["client_name"] == "m" and updated.updated_at == later
    assert updated.created_at == NOW
    updated = await repo.update_client("c1", "newhash", doc, later)
    assert updated.secret_hash == "newhash"
    assert await repo.update_client("missing", None, doc, later) is None

    assert await repo.delete_client("c1") is True
    assert await repo.delete_client("c1") is False
    assert await repo.get_client("c1") is None


async def test_duplicate_client_is_conflict(repo):
    await repo.insert_client("dup", None, None, {}, NOW)
    with pytest.raises(errors.APIError) as info:
        await repo.insert_client("dup", None, None, {}, NOW)
    assert info.value.status_code == 409


@pytest.mark.parametrize("bad_id", ["nul\x00byte", secrets.token_hex(5000)], ids=["nul", "10kB"])
async def test_values_postgres_refuses_are_400_not_500(repo, bad_id):
    with pytest.raises(errors.OAuthError) as info:
        await repo.insert_client(bad_id, None, None, {}, NOW)
    assert info.value.status_code == 400


async def test_list_clients_keyset_and_filters(repo):
    for i in range(5):
        await repo.insert_client(f"id{i}", None, None, {"client_name": "even" if i % 2 == 0 else "odd",
                                                        "owner": f"o{i % 3}"}, NOW)
    page = await repo.list_clients(2, "", None, None)
    assert [c.id for c in page] == ["id0", "id1"]
    page = await repo.list_clients(2, "id1", None, None)
    assert [c.id for c in page] == ["id2", "id3"]
    assert [c.id for c in await repo.list_clients(10, "", "even", None)] == ["id0", "id2", "id4"]
    assert [c.id for c in await repo.list_clients(10, "", "even", "o1")] == ["id4"]
    assert [c.id for c in await repo.list_clients(10, "", None, "o0")] == ["id0", "id3"]
    # keyset values are bound parameters, never SQL
    assert await repo.list_clients(10, "' OR 1=1--", "x' OR '1'='1", None) == []


async def test_tokens_revoke_request_and_delete_by_client(repo):
    await repo.insert_client("c", None, None, {}, NOW)
    await repo.insert_client("d", None, None, {}, NOW)
    await repo.insert_access_token(_token("s1", "r1", "c", audience=["https://a"]))
    await repo.insert_access_token(_token("s2", "r1", "c"))
    await repo.insert_access_token(_token("s3", "r2", "c"))
    await repo.insert_access_token(_token("s4", "r3", "d"))
    await repo.run(lambda conn: conn.execute(
        "INSERT INTO hydralite_refresh_token (signature, request_id, client_id, subject, scope, audience, "
        "requested_at) VALUES ('rt1', 'r1', 'c', 'c', '{}', '{}', now())"))

    rec = await repo.get_access_token("s1")
    assert rec.client_id == "c" and rec.request_id == "r1" and rec.scope == ["api"] and rec.active
    assert rec.audience == ["https://a"] and rec.expires_at == NOW + timedelta(hours=1)
    assert (await repo.get_refresh_token("rt1")).active

    await repo.revoke_request("r1")
    assert await repo.get_access_token("s1") is None and await repo.get_access_token("s2") is None
    assert not (await repo.get_refresh_token("rt1")).active
    assert await repo.get_access_token("s3") is not None

    await repo.delete_client_access_tokens("c")
    assert await repo.get_access_token("s3") is None
    assert await repo.get_access_token("s4") is not None
    # deleting a client cascades to its tokens
    await repo.delete_client("d")
    assert await repo.get_access_token("s4") is None


async def test_ping_reports_pending_migrations(repo):
    assert await repo.ping() == []
    await repo.run(lambda c: c.execute("DELETE FROM hydralite_migration WHERE version = $1",
                                       migrate.available()[-1].version))
    assert await repo.ping() == [migrate.available()[-1].version]


async def test_migrations_idempotent(postgres):
    dsn = await postgres.create_database()
    first = await migrate.up_dsn(dsn)
    assert first == [m.version for m in migrate.available()]
    assert await migrate.up_dsn(dsn) == []
    assert all(done for _, done in await migrate.status_dsn(dsn))


async def test_two_processes_migrating_at_once(postgres):
    dsn = await postgres.create_database()
    results = await asyncio.gather(*(migrate.up_dsn(dsn) for _ in range(4)))
    versions = [m.version for m in migrate.available()]
    assert sorted(v for r in results for v in r) == sorted(versions)  # each migration applied exactly once
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version, count(*) AS n FROM hydralite_migration GROUP BY version")
        assert {r["version"]: r["n"] for r in rows} == dict.fromkeys(versions, 1)
    finally:
        await conn.close()


def _cli(*args: str, dsn: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DSN": dsn}
    return subprocess.run([sys.executable, "-m", "hydralite", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


async def test_cli_migrate_up_and_status(postgres):
    dsn = with_options(await postgres.create_database(), "sslmode=disable&max_conns=20&max_idle_conns=4")
    versions = [m.version for m in migrate.available()]
    status = _cli("migrate", "sql", "status", "-e", dsn=dsn)
    assert status.returncode == 0, status.stderr
    assert all(f"{v}" in status.stdout for v in versions) and "Pending" in status.stdout
    up = _cli("migrate", "sql", "up", "-e", "--yes", dsn=dsn)
    assert up.returncode == 0, up.stderr
    assert all(f"Applied migration {v}" in up.stdout for v in versions)
    again = _cli("migrate", "sql", "up", "-e", "--yes", dsn=dsn)
    assert again.returncode == 0 and "Applied migration" not in again.stdout
    status = _cli("migrate", "sql", "status", "-e", dsn=dsn)
    assert status.returncode == 0 and "Pending" not in status.stdout and status.stdout.count("Applied") == len(versions)


def test_cli_migrate_without_dsn_is_a_one_line_error():
    result = _cli("migrate", "sql", "up", "-e", "--yes", dsn="")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "DSN" in result.stderr


async def test_a_connection_released_inside_a_transaction_comes_back_clean(fresh_dsn):
    """A handler cancelled mid-transaction must not leave the next request inside its (aborted) transaction."""
    pool = await create_pool(with_options(fresh_dsn, "max_conns=1&max_idle_conns=1"))
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute("SELECT 1/0")  # the transaction is now aborted
        repo = PgRepository(pool)
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
        assert await repo.get_client("anyone") is None
    finally:
        await pool.close()


async def test_cli_migrate_dsn_argument_and_deprecated_alias(postgres):
    dsn = await postgres.create_database()
    up = _cli("migrate", "sql", "up", "--yes", dsn, dsn="")
    assert up.returncode == 0, up.stderr
    assert "Applied migration" in up.stdout
    other = await postgres.create_database()
    alias = _cli("migrate", "sql", "-e", "--yes", dsn=other)  # Hydra's `migrate sql -e --yes`
    assert alias.returncode == 0, alias.stderr
    assert all(done for _, done in await migrate.status_dsn(other))


async def test_jti_is_single_use_until_it_expires(repo):
    """A jti is spent once; a concurrent replay loses; an expired record may be taken over (fosite's rule)."""
    later = datetime.now(UTC) + timedelta(minutes=5)
    results = await asyncio.gather(*(repo.spend_jti("sig-live", later) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    assert await repo.spend_jti("sig-live", later) is False
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert await repo.spend_jti("sig-old", past) is True
    assert await repo.spend_jti("sig-old", later) is True
    assert await repo.spend_jti("sig-old", later) is False
