"""The server's database connections: a lean pool of asyncpg connections.

asyncpg's own Pool costs about 25 µs of CPU per query on top of the query itself (a PoolConnectionProxy, a Future,
an `asyncio.shield` Task and a timeout context per release, an idle timer re-armed per use), which measured as much
as all of hydralite's own code on the token endpoint; here lending a connection is a pop and returning it a push.

What it keeps of a pool: at most `max_size` connections, opened on demand (or all at start); a caller waits for a
free one at most about ACQUIRE_TIMEOUT; a connection that is closed, broken, or still inside a transaction is dropped
rather than lent again; connections above `min_size` close after `max_inactive_lifetime` unused. A query that hangs
(a database that stopped answering) is cut off by the watchdog: a connection lent for longer than COMMAND_TIMEOUT
is terminated, which fails its query with a connection error (a 503, as asyncpg's command timeout gave, without
arming a timer for every query). Everything runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import asyncpg

ACQUIRE_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0
#: How often the watchdog looks for hung queries and idle connections to close.
HOUSEKEEPING_INTERVAL = 1.0

Init = Callable[[asyncpg.Connection], Awaitable[None]]
log = logging.getLogger("hydralite.db")


class Pool:
    """A bounded set of connections to one database, lent one at a time (see the module docstring)."""

    def __init__(self, dsn: str, *, min_size: int, max_size: int, max_inactive_lifetime: float, init: Init,
                 connect: dict[str, Any]):
        self._dsn = dsn
        self._min = min_size
        self._max = max_size
        self._lifetime = max_inactive_lifetime
        self._init = init
        self._connect = connect
        self._free: list[tuple[asyncpg.Connection, float]] = []  # idle, with the time each came back; newest last
        self._lent: dict[asyncpg.Connection, float] = {}  # lent, with the time each was lent
        self._opening = 0
        self._waiters: deque[tuple[asyncio.Future[asyncpg.Connection], float]] = deque()  # with their deadline
        self._closing = False
        self._drained: asyncio.Event | None = None
        self._housekeeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # opens and closes in the background

    # Start and stop.

    async def start(self, size: int) -> Pool:
        """Open `min_size` connections (a failure is the caller's), then try the rest up to `size`; when the
        database refuses those, close them again and keep `min_size` (the pool grows on demand later)."""
        first = await asyncio.gather(*[self._open() for _ in range(self._min)], return_exceptions=True)
        opened = [c for c in first if isinstance(c, asyncpg.Connection)]
        failed = [e for e in first if isinstance(e, BaseException)]
        if failed:
            await asyncio.gather(*[c.close() for c in opened], return_exceptions=True)
            raise failed[0]
        extra = await asyncio.gather(*[self._open() for _ in range(max(size - self._min, 0))],
                                     return_exceptions=True)
        more = [c for c in extra if isinstance(c, asyncpg.Connection)]
        if len(more) < len(extra):
            await asyncio.gather(*[c.close() for c in more], return_exceptions=True)
            more = []
        now = time.monotonic()
        self._free = [(c, now) for c in opened + more]
        self._housekeeper = asyncio.get_running_loop().create_task(self._housekeep(), name="hydralite-db-pool")
        return self

    async def close(self) -> None:
        """Stop lending, let lent connections come back, then close every connection."""
        self._closing = True
        while self._waiters:
            waiter = self._waiters.popleft()[0]
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("pool is closing"))
        if self._lent:
            self._drained = asyncio.Event()
            await self._drained.wait()
        if self._housekeeper is not None:
            self._housekeeper.cancel()
        free, self._free = self._free, []
        await asyncio.gather(*[conn.close(timeout=2) for conn, _ in free], return_exceptions=True)

    # Lending.

    async def take(self) -> asyncpg.Connection:
        """A connection for the caller alone until `give`: a free one, a new one, or the next one given back."""
        if self._closing:
            raise asyncpg.InterfaceError("pool is closing")
        free = self._free
        while free:
            conn = free.pop()[0]
            if not conn.is_closed():
                self._lent[conn] = time.monotonic()
                return conn
        if len(self._lent) + self._opening < self._max:
            try:
                conn = await self._open()
            except BaseException:
                self._fill()  # the room this open had may serve a waiting caller
                raise
            if self.is_closing():  # closed while this one opened
                conn.terminate()
                raise asyncpg.InterfaceError("pool is closing")
            self._lent[conn] = time.monotonic()
            return conn
        return await self._wait()

    async def _wait(self) -> asyncpg.Connection:
        waiter: asyncio.Future[asyncpg.Connection] = asyncio.get_running_loop().create_future()
        self._waiters.append((waiter, time.monotonic() + ACQUIRE_TIMEOUT))  # the housekeeper expires it
        try:
            return await waiter  # `give` marked it lent
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give(waiter.result())  # handed over just as the caller went away: pass it on
            raise

    def give(self, conn: asyncpg.Connection, reusable: bool = True) -> None:
        """Take back a lent connection; `reusable=False` (the caller was interrupted mid-query) drops it."""
        if self._lent.pop(conn, None) is None:
            return  # given back twice, or dropped by the watchdog meanwhile
        if not reusable or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._fill()
        else:
            waiters = self._waiters
            while waiters:
                waiter = waiters.popleft()[0]
                if not waiter.done():
                    self._lent[conn] = time.monotonic()
                    waiter.set_result(conn)
                    return
            self._free.append((conn, time.monotonic()))
        if self._drained is not None and not self._lent:
            self._drained.set()

    def _fill(self) -> None:
        """Open connections for waiting callers while there is room (after a drop, a failed open, each sweep)."""
        if self._closing:
            return
        wanted = self.waiting() - self._opening  # opens under way serve waiters too
        while wanted > 0 and self.get_size() < self._max:
            self._opening += 1  # counted now, so that concurrent calls do not open more than there is room for
            self._spawn(self._open_for_waiter())
            wanted -= 1

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_ignore)

    async def _open_for_waiter(self) -> None:
        try:
            conn = await self._open(counted=True)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiter, who maps it (503)
            for waiter, _ in self._waiters:
                if not waiter.done():
                    waiter.set_exception(exc if isinstance(exc, Exception) else asyncpg.InterfaceError(str(exc)))
                    break
            return
        if self._closing:
            conn.terminate()
            return
        self._lent[conn] = time.monotonic()
        self.give(conn)

    async def _open(self, *, counted: bool = False) -> asyncpg.Connection:
        if not counted:
            self._opening += 1
        try:
            # asyncpg's timeout covers connecting and logging in; this bounds the codec set-up after it too.
            async with asyncio.timeout(self._connect.get("timeout", ACQUIRE_TIMEOUT) + COMMAND_TIMEOUT):
                conn = await asyncpg.connect(self._dsn, **self._connect)
                try:
                    await self._init(conn)
                except BaseException:
                    conn.terminate()
                    raise
            return conn
        finally:
            self._opening -= 1

    # Housekeeping.

    async def _housekeep(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while not self._closing:
                await asyncio.sleep(HOUSEKEEPING_INTERVAL)
                try:
                    self.sweep(time.monotonic())
                except Exception:  # the housekeeper must outlive any surprise, or waiters would never expire
                    log.exception("database pool housekeeping failed")

    def sweep(self, now: float) -> None:
        """Fail callers that have waited ACQUIRE_TIMEOUT for a connection, terminate connections lent for longer
        than COMMAND_TIMEOUT (a hung query), and close the oldest idle connections above `min_size` that have been
        unused for `max_inactive_lifetime`. (Once a second: no timer per wait or per query.)"""
        waiters = self._waiters
        while waiters and (waiters[0][0].done() or waiters[0][1] <= now):  # first come, first expired
            waiter = waiters.popleft()[0]
            if not waiter.done():
                waiter.set_exception(TimeoutError("no database connection became free in time"))
        for conn, since in list(self._lent.items()):
            if now - since > COMMAND_TIMEOUT:
                conn.terminate()  # its query fails at once; `give` then drops it
        self._free = free = [entry for entry in self._free if not entry[0].is_closed()]  # gone with a restart
        while len(free) + len(self._lent) > self._min and free and now - free[0][1] > self._lifetime:
            self._spawn(free.pop(0)[0].close(timeout=2))
        self._fill()

    # What callers and metrics read.

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """`async with pool.acquire() as conn`, for callers off the hot path."""
        conn = await self.take()
        reusable = False
        try:
            yield conn
            reusable = True
        except asyncpg.PostgresError:
            reusable = True  # the statement failed, the connection did not (give checks it)
            raise
        finally:
            self.give(conn, reusable)

    async def execute(self, query: str, *args: Any) -> str:
        async with self.acquire() as conn:
            return str(await conn.execute(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args)

    def is_closing(self) -> bool:
        return self._closing

    def get_size(self) -> int:
        return len(self._free) + len(self._lent) + self._opening

    def get_idle_size(self) -> int:
        return len(self._free)

    def get_min_size(self) -> int:
        return self._min

    def get_max_size(self) -> int:
        return self._max

    def waiting(self) -> int:
        """Callers waiting for a connection."""
        return sum(1 for waiter, _ in self._waiters if not waiter.done())


def _ignore(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed background close or open is not worth a log line
