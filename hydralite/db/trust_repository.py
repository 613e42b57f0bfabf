"""Repository methods for RFC 7523 trust relationships (Hydra's GrantManager and RFC7523KeyStorage)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from hydralite.db.store import PgStore


class PgTrustStore(PgStore):
    """TrustStorage of engine.repository."""

    async def insert_trust(self, trust_id: uuid.UUID, issuer: str, subject: str, allow_any_subject: bool,
                           scope: list[str], key_id: str, jwk: dict[str, Any], created_at: datetime,
                           expires_at: datetime) -> bool:
        return await self.fetchrow("insert_trust", trust_id, issuer, subject, allow_any_subject, scope, key_id,
                                   jwk, created_at, expires_at) is not None

    async def get_trust(self, trust_id: uuid.UUID) -> asyncpg.Record | None:
        return await self.fetchrow("get_trust", trust_id, retry=True)

    async def delete_trust(self, trust_id: uuid.UUID) -> bool:
        return await self.fetchrow("delete_trust", trust_id) is not None

    async def list_trusts(self, limit: int, after: uuid.UUID, issuer: str | None) -> list[asyncpg.Record]:
        return await self.fetch("list_trusts", limit, after, issuer, retry=True)

    async def trusted_keys(self, issuer: str, subject: str, key_id: str | None) -> list[asyncpg.Record]:
        return await self.fetch("trusted_keys", issuer, subject, key_id, retry=True)
