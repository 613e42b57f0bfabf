"""The server's pool opens all of its connections at start, and still starts when the database has no room."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hydralite.db.pool import create_pool, parse_dsn


def with_options(dsn: str, options: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + options


async def test_warm_pool_opens_max_conns_and_the_plain_pool_max_idle_conns(fresh_dsn):
    dsn = with_options(fresh_dsn, "sslmode=disable&max_conns=4&max_idle_conns=1")
    for warm, opened in ((True, 4), (False, 1)):
        pool = await create_pool(dsn, warm=warm)
        try:
            assert pool.get_size() == opened
            assert pool.get_min_size() == 1 and pool.get_max_size() == 4
        finally:
            await pool.close()


async def test_warm_pool_starts_with_max_idle_conns_when_the_database_refuses_more(fresh_dsn):
    """A role limited to two connections: the warm pool of four cannot open, the pool of one can."""
    role = "hl_limited_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(parse_dsn(fresh_dsn).dsn)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 2")
        parts = urlsplit(fresh_dsn)
        as_role = urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))
        dsn = with_options(as_role, "sslmode=disable&max_conns=4&max_idle_conns=1")
        pool = await create_pool(dsn, warm=True)
        try:
            assert await pool.fetchval("SELECT current_user") == role
            assert pool.get_size() == 1
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
