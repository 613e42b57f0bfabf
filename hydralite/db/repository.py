"""The PostgreSQL repository: short typed methods over the named queries in sql/queries.

Every call acquires with a timeout, so an exhausted pool or a database that is down
answers quickly with StorageUnavailable (503) instead of hanging; asyncpg replaces
broken connections on the next acquire, so the server recovers by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from hydralite import errors
from hydralite.db import migrate
from hydralite.db.flows_repository import FlowsRepositoryMixin
from hydralite.db.keys_repository import KeysRepositoryMixin
from hydralite.db.pool import ACQUIRE_TIMEOUT
from hydralite.db.queries import load
from hydralite.models import Client, NewToken, TokenRecord

T = TypeVar("T")

_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.InternalClientError,
)
_REJECTED = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.ProgramLimitExceededError,
    asyncpg.exceptions.StringDataRightTruncationError,
    asyncpg.exceptions.UntranslatableCharacterError,
    asyncpg.exceptions.InvalidTextRepresentationError,
)


def translate(exc: BaseException) -> Exception | None:
    """Map a database failure to the error the client should see (pinned by a unit test)."""
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return errors.conflict()
    if isinstance(exc, _REJECTED):
        return errors.StorageRejected("A value could not be stored.")
    if isinstance(exc, asyncpg.exceptions.ForeignKeyViolationError):
        # The client was deleted while this request was using it.
        return errors.InvalidClient("The OAuth 2.0 Client no longer exists.")
    if isinstance(exc, asyncpg.exceptions.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError):
        return errors.StorageUnavailable(type(exc).__name__)
    if isinstance(exc, _UNAVAILABLE):
        return errors.StorageUnavailable(type(exc).__name__)
    return None


def _client(row: asyncpg.Record) -> Client:
    return Client(id=row["id"], metadata=row["metadata"], secret_hash=row["secret_hash"],
                  rotated_secrets=tuple(row["rotated_secrets"]), created_at=row["created_at"],
                  updated_at=row["updated_at"])


def _token(row: asyncpg.Record) -> TokenRecord:
    return TokenRecord(signature=row["signature"], request_id=row["request_id"], client_id=row["client_id"],
                       subject=row["subject"], scope=list(row["scope"]), audience=list(row["audience"]),
                       session=row["session"], requested_at=row["requested_at"], expires_at=row["expires_at"],
                       active=row["active"], flow_id=row["flow_id"])


class PgRepository(FlowsRepositoryMixin, KeysRepositoryMixin):
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool
        self.q = load()

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]], *, retry: bool = False) -> T:
        """Run `work` on a pooled connection, translating database failures; reads may retry once."""
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                    return await work(conn)
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                mapped = translate(exc)
                if mapped is None:
                    raise
                if isinstance(mapped, errors.StorageUnavailable) and attempt + 1 < attempts:
                    continue
                raise mapped from exc
        raise AssertionError("unreachable")

    async def fetchrow(self, name: str, *args: Any, retry: bool = False) -> asyncpg.Record | None:
        sql = self.q[name]
        return await self.run(lambda c: c.fetchrow(sql, *args), retry=retry)

    async def fetch(self, name: str, *args: Any, retry: bool = False) -> list[asyncpg.Record]:
        sql = self.q[name]
        return await self.run(lambda c: c.fetch(sql, *args), retry=retry)

    async def execute(self, name: str, *args: Any) -> str:
        sql = self.q[name]
        return await self.run(lambda c: c.execute(sql, *args))

    # health

    async def ping(self) -> list[str]:
        """Raise when the database is unreachable; return the migrations still pending."""
        return await self.run(migrate.pending, retry=True)

    # clients

    async def get_client(self, client_id: str) -> Client | None:
        row = await self.fetchrow("get_client", client_id, retry=True)
        return _client(row) if row else None

    async def insert_client(self, client_id: str, secret_hash: str | None, registration_signature: str | None,
                            metadata: dict[str, Any], now: datetime) -> Client:
        row = await self.fetchrow("insert_client", client_id, metadata.get("client_name", ""),
                                  metadata.get("owner", ""), secret_hash, registration_signature, metadata, now)
        assert row is not None
        return _client(row)

    async def update_client(self, client_id: str, secret_hash: str | None, metadata: dict[str, Any],
                            now: datetime) -> Client | None:
        row = await self.fetchrow("update_client", client_id, metadata.get("client_name", ""),
                                  metadata.get("owner", ""), secret_hash, metadata, now)
        return _client(row) if row else None

    async def delete_client(self, client_id: str) -> bool:
        return await self.fetchrow("delete_client", client_id) is not None

    async def list_clients(self, limit: int, after: str, name: str | None, owner: str | None) -> list[Client]:
        return [_client(r) for r in await self.fetch("list_clients", limit, after, name, owner, retry=True)]

    # tokens

    async def insert_access_token(self, t: NewToken) -> None:
        await self.execute("insert_access_token", t.signature, t.request_id, t.client_id, t.subject, t.scope,
                           t.audience, t.session, t.flow_id, t.requested_at, t.expires_at)

    async def insert_access_token_if_client(self, t: NewToken, client_updated_at: datetime) -> bool:
        row = await self.fetchrow("insert_access_token_if_client", t.signature, t.request_id, t.client_id,
                                  t.subject, t.scope, t.audience, t.session, t.flow_id, t.requested_at,
                                  t.expires_at, client_updated_at)
        return row is not None

    async def get_access_token(self, signature: str) -> TokenRecord | None:
        row = await self.fetchrow("get_access_token", signature, retry=True)
        return _token(row) if row else None

    async def get_refresh_token(self, signature: str) -> TokenRecord | None:
        row = await self.fetchrow("get_refresh_token", signature, retry=True)
        return _token(row) if row else None

    async def revoke_request(self, request_id: str) -> None:
        await self.execute("revoke_request", request_id)

    async def delete_client_access_tokens(self, client_id: str) -> None:
        await self.execute("delete_client_access_tokens", client_id)
