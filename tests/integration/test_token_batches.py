"""Concurrent access-token inserts and look-ups on a real PostgreSQL (db/batches.py through PgRepository): rows of
one client written together are all stored or, when the remembered client row changed, none; a row PostgreSQL
refuses fails alone; concurrent look-ups each get their own token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hydralite import errors
from hydralite.db.pool import create_pool
from hydralite.db.repository import PgRepository, warm_up
from hydralite.models import NewToken

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


@pytest.fixture
async def repo(fresh_dsn):
    pool = await create_pool(fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=3")
    try:
        repo = PgRepository(pool)
        for client_id in ("one", "two"):
            await repo.insert_client(client_id, None, None, {"client_name": client_id}, NOW)
        yield repo
    finally:
        await pool.close()


def _token(signature: str, client_id: str, scope: list[str] | None = None, session: str | None = None) -> NewToken:
    return NewToken(signature=signature, request_id="r-" + signature, client_id=client_id, subject=client_id,
                    scope=["api"] if scope is None else scope, audience=["https://api.example"],
                    requested_at=NOW, expires_at=NOW + timedelta(hours=1), session=session)


async def _count(repo: PgRepository) -> int:
    return await repo.run(lambda c: c.fetchval("SELECT count(*) FROM hydralite_access_token"))


async def test_concurrent_tokens_of_a_client_are_all_stored_with_their_own_columns(repo):
    tokens = [_token(f"s{i}", "one", session=f"sealed-{i}" if i % 2 else None) for i in range(25)]
    tokens += [_token("t0", "one", scope=["api", "read"]), _token("u0", "two")]
    assert await asyncio.gather(*[repo.insert_access_token_if_client(t, NOW) for t in tokens]) == [True] * 27
    records = await asyncio.gather(*[repo.get_access_token(t.signature) for t in tokens])
    for token, record in zip(tokens, records, strict=True):
        assert record is not None
        assert (record.signature, record.request_id, record.client_id, record.scope, record.audience,
                record.session, record.expires_at) == (token.signature, token.request_id, token.client_id,
                                                       token.scope, token.audience, token.session, token.expires_at)


async def test_tokens_of_a_changed_client_are_none_of_them_stored(repo):
    stale = [_token(f"stale{i}", "one") for i in range(5)]
    fresh = [_token(f"fresh{i}", "two") for i in range(3)]
    outcomes = await asyncio.gather(*[repo.insert_access_token_if_client(t, LATER) for t in stale],
                                    *[repo.insert_access_token_if_client(t, NOW) for t in fresh])
    assert outcomes == [False] * 5 + [True] * 3
    assert await _count(repo) == 3
    assert all(r is None for r in await asyncio.gather(*[repo.get_access_token(t.signature) for t in stale]))


async def test_a_row_postgres_refuses_fails_alone(repo):
    await repo.insert_access_token(_token("taken", "one"))
    batch = [_token("a", "one"), _token("taken", "one"), _token("b", "one")]
    outcomes = await asyncio.gather(*[repo.insert_access_token_if_client(t, NOW) for t in batch],
                                    return_exceptions=True)
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], errors.APIError) and outcomes[1].status_code == 409
    assert {r.signature for r in await asyncio.gather(repo.get_access_token("a"), repo.get_access_token("b"))} \
        == {"a", "b"}
    assert await _count(repo) == 3


async def test_concurrent_writes_and_look_ups_each_take_one_statement(fresh_dsn):
    pool = await create_pool(fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=1")
    try:
        repo = PgRepository(pool)
        await repo.insert_client("one", None, None, {"client_name": "one"}, NOW)
        statements: list[str] = []
        async with pool.acquire() as conn:  # the pool's only connection: every query of the test goes through it
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        tokens = [_token(f"s{i}", "one") for i in range(20)]
        assert await asyncio.gather(*[repo.insert_access_token_if_client(t, NOW) for t in tokens]) == [True] * 20
        wanted = [t.signature for t in tokens] + ["unknown", "s3"]
        records = await asyncio.gather(*[repo.get_access_token(s) for s in wanted])
        assert [r.signature if r else None for r in records] == [t.signature for t in tokens] + [None, "s3"]
        ours = [s.split()[0] for s in statements if "hydralite_access_token" in s]  # not asyncpg's type look-ups
        assert ours == ["INSERT", "SELECT"], statements
    finally:
        await pool.close()


async def test_a_new_server_connection_prepares_the_hot_statements_without_writing(fresh_dsn):
    pool = await create_pool(fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=1",
                             prepare=warm_up)
    try:
        repo = PgRepository(pool)
        statements: list[str] = []
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            conn.add_query_logger(lambda logged: statements.append(logged.query))
        await repo.insert_client("one", None, None, {"client_name": "one"}, NOW)
        assert await repo.insert_access_token_if_client(_token("s", "one"), NOW)
        assert (await repo.get_access_token("s")).client_id == "one"
        assert not [s for s in statements if "pg_catalog" in s or "pg_type" in s]  # no type look-up under load
        assert await _count(repo) == 1  # the warm-up wrote nothing
    finally:
        await pool.close()


async def test_warmed_up_connections_hold_no_lock(fresh_dsn):
    """A TRUNCATE (the testing kit's reset) must not wait for idle server connections."""
    pool = await create_pool(fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=2",
                             warm=True, prepare=warm_up)
    other = await asyncpg.connect(fresh_dsn)
    try:
        await other.execute("SET lock_timeout = '2s'")
        await other.execute("TRUNCATE hydralite_access_token, hydralite_client CASCADE")
    finally:
        await other.close()
        await pool.close()


async def test_warming_up_a_database_not_yet_migrated_is_skipped(postgres):
    conn = await asyncpg.connect(await postgres.create_database())
    try:
        await warm_up(conn)
        assert not conn.is_in_transaction() and await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
