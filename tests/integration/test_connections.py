"""The lean pool (hydralite/db/connections.py) on a real PostgreSQL: bounds, hand-over, timeouts, and what it drops."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from hydralite import errors
from hydralite.db import connections
from hydralite.db.pool import create_pool
from hydralite.db.store import PgStore


def with_options(dsn: str, options: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + options


async def backends(pool) -> int:
    """Connections PostgreSQL sees from this pool's application name (asked on one of them)."""
    return await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hl-pool-test' "
                               "AND datname = current_database()")


@pytest.fixture
async def pool(fresh_dsn):
    pool = await create_pool(with_options(fresh_dsn, "sslmode=disable&max_conns=2&max_idle_conns=1"
                                                     "&application_name=hl-pool-test"))
    try:
        yield pool
    finally:
        await pool.close()


async def test_never_more_than_max_conns_and_a_returned_connection_goes_to_the_waiter(pool):
    first, second = await pool.take(), await pool.take()
    assert pool.get_size() == 2
    third = asyncio.create_task(pool.take())
    await asyncio.sleep(0.05)
    assert not third.done() and pool.waiting() == 1
    pool.give(first)
    handed = await asyncio.wait_for(third, 2)
    assert handed is first and pool.waiting() == 0 and pool.get_idle_size() == 0
    assert await handed.fetchval("SELECT 1") == 1
    pool.give(second)
    pool.give(handed)
    assert await backends(pool) == 2
    assert pool.get_idle_size() == 2


async def test_a_caller_waits_at_most_the_acquire_timeout_and_the_store_answers_503(pool, monkeypatch):
    monkeypatch.setattr(connections, "ACQUIRE_TIMEOUT", 0.2)
    held = [await pool.take(), await pool.take()]
    with pytest.raises(TimeoutError):
        await pool.take()
    with pytest.raises(errors.StorageUnavailable):
        await PgStore(pool).fetchrow("get_client", "anyone")
    for conn in held:
        pool.give(conn)
    assert await PgStore(pool).fetchrow("get_client", "anyone") is None


async def test_a_query_interrupted_by_cancellation_drops_its_connection(pool):
    store = PgStore(pool)
    task = asyncio.create_task(store.run(lambda c: c.execute("SELECT pg_sleep(30)")))
    await asyncio.sleep(0.2)
    lent = pool.get_size()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.get_size() == lent - 1  # terminated, not lent again mid-query
    assert await store.run(lambda c: c.fetchval("SELECT 2")) == 2


async def test_the_watchdog_cuts_off_a_hung_query_with_a_503(pool):
    store = PgStore(pool)
    task = asyncio.create_task(store.run(lambda c: c.execute("SELECT pg_sleep(30)")))
    await asyncio.sleep(0.2)
    pool.sweep(time.monotonic() + connections.COMMAND_TIMEOUT + 1)
    with pytest.raises(errors.StorageUnavailable):
        await asyncio.wait_for(task, 5)
    assert await store.run(lambda c: c.fetchval("SELECT 3")) == 3


async def test_a_dropped_connection_is_replaced_for_a_waiting_caller(pool):
    first, second = await pool.take(), await pool.take()
    waiter = asyncio.create_task(pool.take())
    await asyncio.sleep(0.05)
    pool.give(first, reusable=False)
    replacement = await asyncio.wait_for(waiter, 5)
    assert replacement is not first and first.is_closed()
    assert await replacement.fetchval("SELECT 4") == 4
    pool.give(second)
    pool.give(replacement)
    assert pool.get_size() == 2


async def test_idle_connections_above_max_idle_conns_close_after_the_idle_time(fresh_dsn):
    pool = await create_pool(with_options(fresh_dsn, "sslmode=disable&max_conns=3&max_idle_conns=1"
                                                     "&max_conn_idle_time=60s"), warm=True)
    try:
        assert pool.get_size() == 3
        pool.sweep(time.monotonic() + 30)
        assert pool.get_size() == 3  # not idle long enough
        pool.sweep(time.monotonic() + 61)
        assert pool.get_size() == 1 and pool.get_idle_size() == 1
        assert await pool.fetchval("SELECT 5") == 5
    finally:
        await pool.close()


async def test_close_waits_for_lent_connections_and_then_refuses(pool):
    conn = await pool.take()
    closing = asyncio.create_task(pool.close())
    await asyncio.sleep(0.05)
    assert not closing.done() and pool.is_closing()
    with pytest.raises(asyncpg.InterfaceError):
        await pool.take()
    pool.give(conn)
    await asyncio.wait_for(closing, 5)
    assert conn.is_closed() and pool.get_size() == 0


async def test_the_sweep_forgets_idle_connections_the_database_closed(fresh_dsn):
    pool = await create_pool(with_options(fresh_dsn, "sslmode=disable&max_conns=2&max_idle_conns=2"
                                                     "&application_name=hl-pool-gone"), warm=True)
    admin = await asyncpg.connect(with_options(fresh_dsn, "sslmode=disable").replace("postgres://", "postgresql://"))
    try:
        assert pool.get_size() == 2
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = 'hl-pool-gone'")
        for _ in range(100):  # until the connections have noticed
            if all(conn.is_closed() for conn, _ in pool._free):
                break
            await asyncio.sleep(0.05)
        pool.sweep(time.monotonic())
        assert pool.get_size() == 0
        assert await pool.fetchval("SELECT 6") == 6
    finally:
        await admin.close()
        await pool.close()


async def test_a_dsn_naming_the_socket_directory_in_its_query_reaches_it(fresh_dsn):
    """As libpq and pgx read it: `?host=` wins over the URI's host (here one that does not resolve)."""
    parts = urlsplit(fresh_dsn)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if not socket_dir.startswith("/"):
        pytest.skip("the test database is not reached through a Unix socket (HYDRALITE_TEST_DSN)")
    user = parts.netloc.rpartition("@")[0]
    dsn = f"postgres://{user}@db.invalid:{parts.port or 5432}{parts.path}?host={socket_dir}&max_conns=1"
    pool = await create_pool(dsn)
    try:
        assert await pool.fetchval("SELECT current_database()") == parts.path.lstrip("/")
    finally:
        await pool.close()
