"""Cache invalidation across workers and servers on one database, through PostgreSQL LISTEN/NOTIFY.

Each worker keeps its key sets in memory (engine/keys.py). A write through one worker drops that worker's copy at
once; the others learn of it here: the writer sends `NOTIFY hydralite_cache, 'keys:<set>'` after its write has
committed, and every worker LISTENs on a dedicated connection and drops the named set, so the next token it signs
uses the new key. Delivery takes well under a millisecond on one PostgreSQL.

Remembered clients need no message: a remembered client is only used by the client_credentials INSERT, which checks
the client row's updated_at in the same statement (engine/client_auth.py).

Bounded staleness when there is no listener: if the listening connection drops, the worker reconnects (backing off
up to 30 s) and drops every cached set when it is back, since it may have missed messages; if the database has no
LISTEN/NOTIFY at all (YugabyteDB before 2025.2.3), publishing stops after the first failure and each worker sees
a key change within the cache lifetime (10 s), or at once when a token names a kid it does not know.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from hydralite.db.connections import Pool
from hydralite.db.pool import parse_dsn

log = logging.getLogger("hydralite")

CHANNEL = "hydralite_cache"
#: A set id longer than this is announced as "every set" (NOTIFY payloads must stay under 8000 bytes).
_MAX_KEY = 1000
_PING_SECONDS = 30.0
_MAX_BACKOFF = 30.0
ALL = "*"

Handler = Callable[[str], None]


class Invalidations:
    """One worker's side of the channel: publish after writes, listen and call the handler of each topic."""

    def __init__(self, dsn: str, handlers: dict[str, Handler]):
        self.dsn = dsn
        self.handlers = handlers
        self.publishing = True
        self.listening = asyncio.Event()  # set while LISTEN is active (tests and logs)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    # Publishing.

    async def publish(self, pool: Pool, topic: str, key: str) -> None:
        """Tell every listener that `key` of `topic` changed; never fails the write it follows."""
        if not self.publishing:
            return
        payload = f"{topic}:{key if len(key) <= _MAX_KEY else ALL}"
        try:
            await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except asyncpg.PostgresError as exc:  # e.g. a PostgreSQL-compatible engine without NOTIFY
            self.publishing = False
            log.warning("cache invalidation messages are off (%s): other servers see key changes within 10 s", exc)
        except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
            log.warning("could not announce a %s change: %s", topic, exc)

    # Listening.

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hydralite-invalidations")

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _dispatch(self, payload: str) -> None:
        topic, _, key = payload.partition(":")
        handler = self.handlers.get(topic)
        if handler is not None:
            handler(key)

    def _drop_all(self) -> None:
        for handler in self.handlers.values():
            handler(ALL)

    async def _run(self) -> None:
        backoff, warned = 1.0, False
        while not self._stop.is_set():
            try:
                await self._listen_once()
                backoff, warned = 1.0, False
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                (log.debug if warned else log.warning)(
                    "cache invalidation listener unavailable (%s); retrying, key changes made elsewhere reach this "
                    "worker within 10 s meanwhile", exc)
                warned = True
            self.listening.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _listen_once(self) -> None:
        settings = parse_dsn(self.dsn)
        conn = await asyncpg.connect(settings.dsn, timeout=settings.connect_timeout,
                                     server_settings={"application_name": settings.application_name + "-listener"})
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_message)
            self._drop_all()  # messages sent while no connection listened are lost: start afresh
            self.listening.set()
            while not self._stop.is_set() and not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), _PING_SECONDS)
                if not lost.is_set() and not self._stop.is_set():
                    await conn.fetchval("SELECT 1", timeout=10)  # a silently dead connection shows up here
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    def _on_message(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self._dispatch(str(payload))


def attach(keys: Any, pool: Pool, dsn: str) -> Invalidations:
    """Wire a worker's KeyManager (engine.keys) to the channel and start listening; close() the result at shutdown."""
    invalidations = Invalidations(dsn, {"keys": keys.forget})

    async def announce(set_id: str) -> None:
        await invalidations.publish(pool, "keys", set_id)

    keys.on_change = announce
    invalidations.start()
    return invalidations
