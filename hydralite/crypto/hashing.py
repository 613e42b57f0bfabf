"""Client secret hashing: argon2id in bounded worker threads, with a verified-secret cache.

argon2 at OWASP's minimum costs ~28 ms per verify, which would cap the whole server
below 50 tokens/s, so a successful verification is remembered under an HMAC of
(client id, secret, stored hash). A new secret means a new stored hash, which misses
the cache; nothing secret is kept in memory in the clear.

Concurrent verifications of the same (client id, secret, stored hash) share one argon2 job
(single flight), so a cold start under load costs one verification per worker, not one per
connection. Only a success is shared: a waiter whose shared job failed pays its own full
verification, so wrong secrets each cost what a verify costs.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hydralite.errors import TemporarilyUnavailable
from hydralite.ops import metrics, tracing

T = TypeVar("T")

#: Secrets longer than this are refused before any hashing (a 1 MB secret must not cost argon2 time).
MAX_SECRET_LENGTH = 1024


class SecretHasher:
    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19 * 1024, parallelism: int = 1,
                 threads: int = 2, cache_size: int = 10_000, max_waiting: int = 0):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._limit = asyncio.Semaphore(threads * 4)
        #: Beyond this many argon2 jobs queued or running, answer 503 at once instead of piling up
        #: (a flood of wrong secrets must not stall everyone; cached secrets never queue).
        self._max_waiting = max_waiting or threads * 64
        self._waiting = 0
        self._cache_key = os.urandom(32)
        self._cache: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._inflight: dict[bytes, asyncio.Future[bool]] = {}
        self._dummy = self._hasher.hash("hydralite-dummy-secret")

    async def _run(self, fn: Callable[..., T], *args: Any, span: str = "hash.Argon2.Compare") -> T:
        if self._waiting >= self._max_waiting:
            raise TemporarilyUnavailable("The server is busy verifying client secrets, please try again later.",
                                         headers={"Retry-After": "1"})
        self._waiting += 1
        try:
            async with self._limit:
                job = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
                if tracing.TRACER is not None:  # tracing on: the thread job as a span of the request
                    return await tracing.child(span, job)
                return await job
        finally:
            self._waiting -= 1

    async def hash(self, secret: str) -> str:
        return await self._run(self._hasher.hash, secret, span="hash.Argon2.Generate")

    def _key(self, client_id: str, secret: str, stored: str) -> bytes:
        msg = b"\0".join((client_id.encode(), secret.encode("utf-8", "surrogatepass"), stored.encode()))
        return hmac.new(self._cache_key, msg, "sha256").digest()

    def _verify_sync(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
            return False

    async def verify(self, client_id: str, secret: str, stored_hashes: list[str]) -> bool:
        """True when `secret` matches one of the stored hashes (current first, then rotated)."""
        if len(secret) > MAX_SECRET_LENGTH:
            return False
        keys = [self._key(client_id, secret, h) for h in stored_hashes]
        with self._lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    metrics.secret_cache_hit()
                    return True
        for stored, key in zip(stored_hashes, keys, strict=True):
            shared = self._inflight.get(key)
            if shared is not None and await asyncio.shield(shared):
                metrics.secret_cache_hit()
                return True
            if await self._verify_once(stored, secret, key):
                return True
        return False

    async def _verify_once(self, stored: str, secret: str, key: bytes) -> bool:
        """One argon2 verification that concurrent callers with the same key can wait for."""
        shared: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        leader = key not in self._inflight
        if leader:
            self._inflight[key] = shared
        ok = False
        try:
            ok = await self._run(self._verify_sync, stored, secret)
            metrics.argon2_verified("match" if ok else "mismatch")
            if ok:
                with self._lock:
                    self._cache[key] = None
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            return ok
        finally:
            if leader:
                del self._inflight[key]
                shared.set_result(ok)

    async def dummy_verify(self, secret: str) -> None:
        """Spend what a real verify costs, so unknown clients and wrong secrets look alike."""
        if len(secret) > MAX_SECRET_LENGTH:
            return
        await self._run(self._verify_sync, self._dummy, secret)
        metrics.argon2_verified("dummy")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
