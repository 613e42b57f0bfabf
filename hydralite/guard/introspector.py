"""RFC 7662 introspection at a hydralite (or Hydra) admin API, with a bounded answer cache.

Active answers are kept until min(exp, ttl) and inactive ones briefly, so a busy API asks the
admin API once per token and period; concurrent first requests with one token share one call.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx

INTROSPECT_PATH = "/admin/oauth2/introspect"


class Unavailable(Exception):
    """The introspection endpoint could not be asked or answered unexpectedly: the guard answers 503."""


def endpoint(admin_url: str) -> str:
    """The introspection URL of an admin base URL (a full introspection URL is kept as given)."""
    url = admin_url.rstrip("/")
    return url if url.endswith("/oauth2/introspect") else url + INTROSPECT_PATH


class Introspector:
    """Introspect tokens at `admin_url` over a pooled httpx.AsyncClient; share one between guards to share its cache."""

    def __init__(self, admin_url: str, *, ttl: float = 60.0, inactive_ttl: float = 5.0, timeout: float = 5.0,
                 max_entries: int = 10_000, headers: Mapping[str, str] | None = None,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time):
        self.url = endpoint(admin_url)
        self.ttl = ttl
        self.inactive_ttl = inactive_ttl
        self.timeout = timeout
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.clock = clock
        self._max = max_entries
        self._cache: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()
        self._pending: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self._client = client
        self._owned = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        # An owned client is bound to the loop it was made in (tests may run several loops): make one per loop.
        if self._client is None or (self._owned and self._loop is not loop):
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (when this introspector made it)."""
        if self._client is not None and self._owned:
            await self._client.aclose()
            self._client = None

    def forget(self) -> None:
        """Drop every cached answer."""
        self._cache.clear()

    def cached(self, token: str) -> dict[str, Any] | None:
        """The cached answer for `token` if it is still fresh, else None."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        return self._fresh(key)

    def _fresh(self, key: bytes) -> dict[str, Any] | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        if hit[0] <= self.clock():
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return hit[1]

    def _store(self, key: bytes, answer: dict[str, Any]) -> None:
        now = self.clock()
        until = now + self.inactive_ttl
        if answer.get("active") is True:
            until = now + self.ttl
            exp = answer.get("exp")
            if isinstance(exp, int | float) and not isinstance(exp, bool):
                until = min(until, float(exp))
        if until <= now:
            return
        self._cache[key] = (until, answer)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)

    async def introspect(self, token: str) -> dict[str, Any]:
        """The introspection answer for `token` ({"active": false} when inactive); raises Unavailable."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        hit = self._fresh(key)
        if hit is not None:
            return hit
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        if pending is not None and pending.get_loop() is loop:
            await asyncio.wait({pending})  # never raises: the first caller's outcome is read below
            if not pending.cancelled():
                return pending.result()  # the answer, or the first caller's Unavailable
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[key] = future
        try:
            answer = await self._ask(token)
        except asyncio.CancelledError:
            future.cancel()  # a waiter then asks itself
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so no "never retrieved" warning when nobody else waited
            raise
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
        self._store(key, answer)
        future.set_result(answer)
        return answer

    async def _ask(self, token: str) -> dict[str, Any]:
        try:
            response = await self._http().post(self.url, data={"token": token}, headers=self.headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"introspection at {self.url} failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise Unavailable(f"introspection at {self.url} answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise Unavailable(f"introspection at {self.url} answered no JSON") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            raise Unavailable(f"introspection at {self.url} answered no RFC 7662 object")
        return answer
