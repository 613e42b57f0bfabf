"""db/batches.py: what is submitted in one loop iteration is written together per key; each caller gets its group's
result or failure, and a failure that is not an outage is retried row by row so only the row at fault fails."""

from __future__ import annotations

import asyncio

import pytest

from hydralite import errors
from hydralite.db import batches
from hydralite.db.batches import Batches


class Store:
    """A write function that records each call and fails on the items it is told to."""

    def __init__(self, *, bad: frozenset[str] = frozenset(), down: bool = False):
        self.calls: list[tuple[str, list[str]]] = []
        self.bad = bad
        self.down = down

    async def write(self, key: str, items: list[str]) -> str:
        self.calls.append((key, list(items)))
        await asyncio.sleep(0)  # a round trip
        if self.down:
            raise errors.StorageUnavailable("ConnectionRefusedError")
        if self.bad & set(items):
            raise errors.StorageRejected("A value could not be stored.")
        return f"{key}:{len(items)}"


async def test_items_submitted_together_are_written_in_one_call_per_key():
    store = Store()
    group: Batches[str, str, str] = Batches(store.write)
    results = await asyncio.gather(group.submit("a", "1"), group.submit("b", "2"), group.submit("a", "3"))
    assert results == ["a:2", "b:1", "a:2"]
    assert sorted(store.calls) == [("a", ["1", "3"]), ("b", ["2"])]


async def test_items_submitted_one_after_another_are_written_alone():
    store = Store()
    group: Batches[str, str, str] = Batches(store.write)
    assert await group.submit("a", "1") == "a:1"
    assert await group.submit("a", "2") == "a:1"
    assert store.calls == [("a", ["1"]), ("a", ["2"])]


async def test_a_large_group_is_split(monkeypatch):
    monkeypatch.setattr(batches, "MAX_ROWS", 3)
    store = Store()
    group: Batches[str, str, str] = Batches(store.write)
    results = await asyncio.gather(*[group.submit("a", str(i)) for i in range(7)])
    assert [items for _, items in store.calls] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert results == ["a:3"] * 6 + ["a:1"]


async def test_an_outage_fails_every_caller_of_the_group_with_one_attempt():
    store = Store(down=True)
    group: Batches[str, str, str] = Batches(store.write)
    outcomes = await asyncio.gather(*[group.submit("a", str(i)) for i in range(4)], return_exceptions=True)
    assert all(isinstance(o, errors.StorageUnavailable) for o in outcomes)
    assert len(store.calls) == 1


async def test_a_rejected_row_fails_alone_and_the_others_are_written():
    store = Store(bad=frozenset({"2"}))
    group: Batches[str, str, str] = Batches(store.write)
    outcomes = await asyncio.gather(*[group.submit("a", str(i)) for i in range(4)], return_exceptions=True)
    assert outcomes[0] == outcomes[1] == outcomes[3] == "a:1"
    assert isinstance(outcomes[2], errors.StorageRejected)
    assert store.calls[0] == ("a", ["0", "1", "2", "3"])
    assert sorted(items for _, items in store.calls[1:]) == [["0"], ["1"], ["2"], ["3"]]


async def test_a_caller_that_goes_away_does_not_stop_the_others():
    store = Store()
    group: Batches[str, str, str] = Batches(store.write)
    leaving = asyncio.ensure_future(group.submit("a", "1"))
    staying = asyncio.ensure_future(group.submit("a", "2"))
    await asyncio.sleep(0)
    leaving.cancel()
    assert await staying == "a:2"
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert store.calls == [("a", ["1", "2"])]


async def test_a_write_cancelled_at_shutdown_fails_its_callers_instead_of_leaving_them_waiting():
    started = asyncio.Event()

    async def hang(key: str, items: list[str]) -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    group: Batches[str, str, str] = Batches(hang)
    caller = asyncio.ensure_future(group.submit("a", "1"))
    await started.wait()
    for task in list(group._tasks):
        task.cancel()
    with pytest.raises(errors.StorageUnavailable):
        await caller
