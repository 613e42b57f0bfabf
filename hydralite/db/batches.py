"""Writes of one kind that arrive together go to PostgreSQL together: one statement, one round trip, one commit.

Under load a worker has many token requests in flight, and each used to send its own INSERT: a round trip, a
statement executed and a WAL commit per token, which is most of the database's work on the token endpoint. Here
the writes submitted during one event-loop iteration are grouped by a key (rows that differ only in per-row
columns) and each group is written by one statement on the next iteration. Every caller still waits for the
commit of its own row before it answers, so nothing is acknowledged that is not stored; with one request at a time
a group is one row, one loop iteration later than before.

A group succeeds or fails as a whole (one statement in its own transaction). A database that is unavailable fails
every caller of the group at once (503, as each alone would have got); any other failure (a value PostgreSQL
refuses) is retried row by row, so only the row at fault fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from hydralite import errors

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")

#: At most this many rows per statement; a larger group is split.
MAX_ROWS = 100


class Batches(Generic[K, V, R]):
    """Submitted items grouped by key per loop iteration; `write(key, items)` stores a group and returns the one
    result every item of it gets."""

    def __init__(self, write: Callable[[K, list[V]], Awaitable[R]]):
        self._write = write
        self._pending: dict[K, list[tuple[V, asyncio.Future[R]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    async def submit(self, key: K, item: V) -> R:
        """Store `item` with the others of its key submitted in this iteration; the group's result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        pending = self._pending
        if not pending:
            loop.call_soon(self._flush)  # after every task that is ready now has had its turn
        group = pending.get(key)
        if group is None:
            pending[key] = [(item, future)]
        else:
            group.append((item, future))
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for key, entries in pending.items():
            for start in range(0, len(entries), MAX_ROWS):
                self._spawn(key, entries[start:start + MAX_ROWS])

    def _spawn(self, key: K, entries: list[tuple[V, asyncio.Future[R]]]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(key, entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: K, entries: list[tuple[V, asyncio.Future[R]]]) -> None:
        try:
            result = await self._write(key, [item for item, _ in entries])
        except errors.StorageUnavailable as exc:
            _fail(entries, exc)
        except Exception as exc:  # noqa: BLE001 - handed to the callers, who render it
            if len(entries) == 1:
                _fail(entries, exc)
            else:  # nothing of the group was stored: each row alone, so only the one at fault fails
                for entry in entries:
                    self._spawn(key, [entry])
        except BaseException as exc:  # cancelled (shutdown): the callers must not wait for ever
            _fail(entries, errors.StorageUnavailable(type(exc).__name__))
            raise
        else:
            for _, future in entries:
                if not future.done():
                    future.set_result(result)


def _fail(entries: list[tuple[V, asyncio.Future[R]]], exc: BaseException) -> None:
    for _, future in entries:
        if not future.done():
            future.set_exception(exc)
