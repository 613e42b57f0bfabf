"""Repository methods for JSON Web Key sets (rows hold sealed JWK JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

from hydralite.db.store import PgStore

if TYPE_CHECKING:
    from hydralite.db.pool import Conn


class PgKeyStore(PgStore):
    """KeyStorage of engine.repository."""

    async def get_key_set(self, set_id: str) -> list[asyncpg.Record]:
        return await self.fetch("get_key_set", set_id, retry=True)

    async def get_key_sets(self, set_ids: list[str]) -> list[asyncpg.Record]:
        return await self.fetch("get_key_sets", set_ids, retry=True)

    async def insert_key(self, set_id: str, kid: str, sealed: str) -> bool:
        return await self.fetchrow("insert_key", set_id, kid, sealed) is not None

    async def insert_first_key(self, set_id: str, kid: str, sealed: str) -> bool:
        """Insert only into an empty set. Kids are random, so ON CONFLICT alone cannot stop two processes
        from each adding a first key; a per-set advisory lock, then a fresh-snapshot check, does."""
        lock, insert = self.q["lock_key_set"], self.q["insert_first_key"]

        async def work(conn: Conn) -> bool:
            async with conn.transaction():
                await conn.execute(lock, set_id)
                return await conn.fetchval(insert, set_id, kid, sealed) is not None

        return await self.run(work)

    async def upsert_key(self, set_id: str, kid: str, sealed: str) -> None:
        await self.execute("upsert_key", set_id, kid, sealed)

    async def replace_key_set(self, set_id: str, keys: list[tuple[str, str]]) -> None:
        """Swap the whole set in one transaction."""
        delete, insert = self.q["delete_key_set"], self.q["upsert_key"]

        async def work(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute(delete, set_id)
                for kid, sealed in keys:  # a handful of keys: one statement each inside one transaction
                    await conn.execute(insert, set_id, kid, sealed)

        await self.run(work)

    async def delete_key_set(self, set_id: str) -> bool:
        return bool(await self.fetch("delete_key_set", set_id))

    async def delete_key(self, set_id: str, kid: str) -> bool:
        return await self.fetchrow("delete_key", set_id, kid) is not None
