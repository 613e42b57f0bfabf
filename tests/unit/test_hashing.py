"""Client secret hashing (issue 2 item 11): argon2id off the event loop, and a verified secret is not
hashed again. Ordering, not timing, carries every assertion."""

from __future__ import annotations

import asyncio

import pytest

from hydralite.crypto.hashing import MAX_SECRET_LENGTH, SecretHasher
from hydralite.errors import TemporarilyUnavailable


@pytest.fixture
def slow_hasher():
    # Costly enough that a verify takes far longer than a few hundred event-loop turns; one worker thread.
    hasher = SecretHasher(time_cost=3, memory_kib=64 * 1024, threads=1)
    yield hasher
    hasher.close()


async def test_hash_is_argon2id_and_verifies(slow_hasher):
    stored = await slow_hasher.hash("s3cret-value")
    assert stored.startswith("$argon2id$")
    assert await slow_hasher.verify("client", "s3cret-value", [stored])
    assert not await slow_hasher.verify("client", "s3cret-valuf", [stored])
    assert not await slow_hasher.verify("client", "x", ["not-a-hash"])


async def test_rotated_hashes_are_tried_in_order(slow_hasher):
    old = await slow_hasher.hash("old-secret")
    new = await slow_hasher.hash("new-secret")
    assert await slow_hasher.verify("c", "old-secret", [new, old])
    assert await slow_hasher.verify("c", "new-secret", [new, old])


async def test_argon2_does_not_block_the_event_loop(slow_hasher):
    stored = await slow_hasher.hash("s3cret-value")
    ticks = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    assert not await slow_hasher.verify("client", "wrong-secret", [stored])  # a miss always runs argon2
    done.set()
    await task
    assert ticks - before > 50  # the loop kept running while argon2 worked in its thread


async def test_second_authentication_uses_the_cache(slow_hasher):
    stored = await slow_hasher.hash("s3cret-value")
    assert await slow_hasher.verify("client", "s3cret-value", [stored])  # pays argon2 once
    # Occupy the only argon2 thread; a cached verify must not need it, so it finishes first.
    busy = asyncio.create_task(slow_hasher.hash("something-else"))
    await asyncio.sleep(0)
    assert await slow_hasher.verify("client", "s3cret-value", [stored])
    assert not busy.done()
    await busy
    # The cache is keyed by client, secret and stored hash: another client or a new hash misses it.
    other = asyncio.create_task(slow_hasher.hash("something-else"))
    await asyncio.sleep(0)
    assert await slow_hasher.verify("client2", "s3cret-value", [stored])
    assert other.done()


async def test_oversized_secret_is_refused_without_hashing(slow_hasher):
    stored = await slow_hasher.hash("s3cret-value")
    busy = asyncio.create_task(slow_hasher.hash("something-else"))
    await asyncio.sleep(0)
    assert not await slow_hasher.verify("client", "x" * (MAX_SECRET_LENGTH + 1), [stored])
    await slow_hasher.dummy_verify("x" * (MAX_SECRET_LENGTH + 1))
    assert not busy.done()
    await busy


async def test_a_flood_of_wrong_secrets_gets_503_instead_of_piling_up():
    hasher = SecretHasher(time_cost=2, memory_kib=32 * 1024, threads=1, max_waiting=3)
    try:
        stored = await hasher.hash("s3cret-value")
        assert await hasher.verify("client", "s3cret-value", [stored])  # now cached
        flood = [asyncio.create_task(hasher.verify("client", f"wrong-{i}", [stored])) for i in range(12)]
        await asyncio.sleep(0)
        # a client whose secret is already verified is not stuck behind the flood
        assert await hasher.verify("client", "s3cret-value", [stored])
        results = await asyncio.gather(*flood, return_exceptions=True)
        busy = [r for r in results if isinstance(r, TemporarilyUnavailable)]
        assert len(busy) == 9 and all(r.status_code == 503 and r.headers["Retry-After"] for r in busy)
        assert [r for r in results if not isinstance(r, TemporarilyUnavailable)] == [False] * 3
        assert not await hasher.verify("client", "wrong-again", [stored])  # capacity is back afterwards
    finally:
        hasher.close()


class CountingHasher(SecretHasher):
    """The real hasher, counting the argon2 verifications it runs."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.runs = 0

    def _verify_sync(self, stored: str, secret: str) -> bool:
        self.runs += 1
        return super()._verify_sync(stored, secret)


async def test_concurrent_verifications_of_one_secret_share_one_argon2_job():
    """Issue 13: 64 cold requests with the same credentials cost one verification (single flight)."""
    hasher = CountingHasher(threads=2)
    try:
        stored = await hasher.hash("the-right-secret")
        results = await asyncio.gather(*(hasher.verify("c1", "the-right-secret", [stored]) for _ in range(64)))
        assert results == [True] * 64
        assert hasher.runs == 1
    finally:
        hasher.close()


async def test_wrong_secrets_each_pay_a_full_verification_and_never_share_a_success():
    hasher = CountingHasher(threads=2)
    try:
        stored = await hasher.hash("the-right-secret")
        wrong = [f"wrong-{i}" for i in range(8)] + ["wrong-0"] * 8
        right = ["the-right-secret"] * 8
        results = await asyncio.gather(*(hasher.verify("c1", s, [stored]) for s in wrong + right))
        assert results == [False] * 16 + [True] * 8
        # Every wrong secret paid its own verify (the repeated one too); the right ones shared one.
        assert hasher.runs == 16 + 1
    finally:
        hasher.close()
