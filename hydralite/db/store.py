"""The base of every PostgreSQL store: one pool, the named queries, and failure translation.

A caller waits for a connection at most the pool's acquire timeout, so an exhausted pool or a database that is down
answers quickly with StorageUnavailable (503) instead of hanging; the pool drops broken connections and opens new
ones on demand, so the server recovers by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from hydralite import errors
from hydralite.db.queries import load
from hydralite.ops import metrics, tracing

if TYPE_CHECKING:
    from hydralite.db.connections import Pool
    from hydralite.db.pool import Conn

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
    asyncpg.DataError,  # a value asyncpg could not encode (an InterfaceError, but not an outage)
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


class PgStore:
    """Short typed helpers the concern-specific stores build on."""

    def __init__(self, pool: Pool):
        self.pool = pool
        self.q = load()

    async def run(self, work: Callable[[Conn], Awaitable[T]], *, retry: bool = False, name: str = "") -> T:
        """Run `work` on a pooled connection, translating database failures; reads may retry once."""
        pool = self.pool
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                conn = await pool.take()
                reusable = False
                try:
                    if tracing.TRACER is not None and name:  # tracing on: the named query as a span
                        result = await tracing.db_query(name, work(conn))
                    else:
                        result = await work(conn)
                    reusable = True
                    return result
                except (asyncpg.PostgresError, asyncpg.DataError):
                    reusable = True  # the statement failed, not the connection (the pool checks it)
                    raise
                finally:
                    pool.give(conn, reusable)
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                metrics.db_error(exc)
                mapped = translate(exc)
                if mapped is None:
                    raise
                if isinstance(mapped, errors.StorageUnavailable) and attempt + 1 < attempts:
                    continue
                raise mapped from exc
        raise AssertionError("unreachable")

    async def fetchrow(self, name: str, *args: Any, retry: bool = False) -> asyncpg.Record | None:
        sql = self.q[name]
        return await self.run(lambda c: c.fetchrow(sql, *args), retry=retry, name=name)

    async def fetch(self, name: str, *args: Any, retry: bool = False) -> list[asyncpg.Record]:
        sql = self.q[name]
        return await self.run(lambda c: c.fetch(sql, *args), retry=retry, name=name)

    async def execute(self, name: str, *args: Any) -> str:
        sql = self.q[name]
        return await self.run(lambda c: c.execute(sql, *args), name=name)
