"""Forward-only SQL migrations, each applied in its own transaction and recorded.

Two processes migrating at once serialise on a PostgreSQL advisory lock, so each
migration runs exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from hydralite.db.queries import sql_dir

if TYPE_CHECKING:
    from hydralite.db.pool import Conn

_LOCK_ID = 0x68796472616C  # "hydral"
_TABLE = """
CREATE TABLE IF NOT EXISTS hydralite_migration (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()


def available() -> list[Migration]:
    files = sorted((sql_dir() / "migrations").glob("*.sql"))
    return [Migration(p.stem, p) for p in files]


async def applied(conn: Conn) -> set[str]:
    exists = await conn.fetchval("SELECT to_regclass('hydralite_migration') IS NOT NULL")
    if not exists:
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM hydralite_migration")}


async def status(conn: Conn) -> list[tuple[str, bool]]:
    done = await applied(conn)
    return [(m.version, m.version in done) for m in available()]


async def pending(conn: Conn) -> list[str]:
    return [version for version, done in await status(conn) if not done]


async def up(conn: Conn) -> list[str]:
    """Apply every pending migration; return the versions applied by this call."""
    ran: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(_TABLE)
        done = await applied(conn)
        for migration in available():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO hydralite_migration (version) VALUES ($1)", migration.version)
            ran.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return ran


async def up_dsn(dsn: str) -> list[str]:
    from hydralite.db.pool import parse_dsn

    conn = await asyncpg.connect(parse_dsn(dsn).dsn)
    try:
        return await up(conn)
    finally:
        await conn.close()


async def status_dsn(dsn: str) -> list[tuple[str, bool]]:
    from hydralite.db.pool import parse_dsn

    conn = await asyncpg.connect(parse_dsn(dsn).dsn)
    try:
        return await status(conn)
    finally:
        await conn.close()
