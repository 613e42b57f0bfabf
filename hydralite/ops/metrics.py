"""Prometheus metrics: Hydra's HTTP families (ory/x prometheusx) and hydralite's own, summed over workers.

Nothing here costs anything until `setup()` ran (the CLI, migrations and tests that build an engine
never call it). With several workers, prometheus_client's multiprocess mode keeps each worker's
values in a memory-mapped file under a fresh directory the server made before forking; the worker
that answers a scrape reads every file, so the page covers all workers. prometheus_client decides
its mode when it is first imported, so it is imported only by `setup()`, after the directory is set.

Each multiprocess value update is a locked mmap write with a pid check (about eight per request), so the
request path only adds to plain per-process numbers and `flush()` hands them to prometheus_client at most
FLUSH_INTERVAL later (before a scrape in the worker answering it, before a fork, at shutdown): the page
shows exact totals, other workers' latest requests at most FLUSH_INTERVAL late.
"""

from __future__ import annotations

import asyncio
import atexit
import bisect
import contextlib
import glob
import os
import re
import shutil
import tempfile
from typing import Any

from hydralite import __version__

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Go's prometheus.DefBuckets: prometheusx's histograms set no buckets of their own.
GO_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))
#: prometheusx's ConstLabels, in its order. Hydra says app="hydra"; we name ourselves.
_CONST_NAMES = ("app", "version", "hash", "buildTime")
_CONST_VALUES = ("hydralite", __version__, "undefined", "undefined")
#: Request methods as prometheusx's sanitizeMethod spells them (lower case), anything else "unknown".
_METHODS = {m: m.lower() for m in ("GET", "PUT", "HEAD", "POST", "DELETE", "CONNECT", "OPTIONS", "NOTIFY", "TRACE",
                                   "PATCH")}
_METHODS["unknown"] = "unknown"
_PARAM = re.compile(r"\{[^}]*\}")
#: Route label of a request no route matched. Hydra's catch-all not-found handler is registered as "/".
UNMATCHED = "/"
POOL_SAMPLE_INTERVAL = 1.0
#: The longest a counted request waits in the worker before prometheus_client (and so another worker's scrape) sees it.
FLUSH_INTERVAL = 0.05

_metrics: _Metrics | None = None
_UNSCHEDULED = object()  # never a running loop, not even None (no loop: the next update flushes at once)
_tasks: set[asyncio.Task] = set()


def endpoint_label(template: str) -> str:
    """prometheusx's getLabelForPattern: every path parameter becomes `{param}`."""
    return _PARAM.sub("{param}", template)


def _status_bucket(status: int) -> str:
    return f"{status // 100}xx" if 200 <= status <= 599 else "unknown"


class _Metrics:
    """Every family, and the label children of the HTTP ones cached per (endpoint, method, status)."""

    def __init__(self, multiprocess_dir: str | None):
        import prometheus_client as prom

        prom.disable_created_metrics()  # Go's client has no *_created series
        self.dir = multiprocess_dir
        self.registry = prom.CollectorRegistry(auto_describe=True)
        reg = self.registry
        http = ("code", "method", "endpoint")
        self.response_time = prom.Histogram("http_response_time_seconds", "Description", [*_CONST_NAMES, "endpoint"],
                                            buckets=GO_DEFAULT_BUCKETS, registry=reg)
        self.requests = prom.Counter("http_requests_total", "number of requests", [*_CONST_NAMES, *http], registry=reg)
        self.duration = prom.Histogram("http_requests_duration_seconds", "duration of a requests in seconds",
                                       [*_CONST_NAMES, *http], buckets=GO_DEFAULT_BUCKETS, registry=reg)
        self.statuses = prom.Counter("http_requests_statuses_total", "count number of responses per status",
                                     [*_CONST_NAMES, "method", "status_bucket"], registry=reg)
        self.tokens = prom.Counter("hydralite_tokens_issued_total", "token responses issued, by grant type",
                                   ["grant_type"], registry=reg)
        self.argon2 = prom.Counter("hydralite_argon2_verifications_total",
                                   "argon2 verifications of client secrets (result: match, mismatch, dummy)",
                                   ["result"], registry=reg)
        self.cache_hits = prom.Counter("hydralite_secret_cache_hits_total",
                                       "client secrets accepted from the verified-secret cache without argon2",
                                       registry=reg)
        self.db_errors = prom.Counter("hydralite_db_errors_total", "failed database calls, by error type",
                                      ["error"], registry=reg)
        self.restarts = prom.Counter("hydralite_worker_restarts_total", "worker processes started to replace one "
                                     "that died", registry=reg)
        gauge: dict[str, Any] = {"registry": reg, "multiprocess_mode": "livesum"}
        self.pool_size = prom.Gauge("hydralite_db_pool_connections", "open database connections", **gauge)
        self.pool_idle = prom.Gauge("hydralite_db_pool_idle_connections", "idle database connections", **gauge)
        self.pool_max = prom.Gauge("hydralite_db_pool_max_connections", "database pool capacity", **gauge)
        self.pool_waiters = prom.Gauge("hydralite_db_pool_waiters", "requests waiting for a database connection",
                                       **gauge)
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any, Any]] = {}
        self._bounds = GO_DEFAULT_BUCKETS
        # Not yet flushed: per (endpoint, method, status) [count, sum of seconds, count per bucket], and per
        # counter child the amount to add. Touched from the event loop's thread only.
        self._pending: dict[tuple[str, str, int], list[float]] = {}
        self._counts: dict[Any, float] = {}
        self._labelled: dict[tuple[Any, str], Any] = {}
        self._flush_loop: object = _UNSCHEDULED  # the loop a flush is scheduled on
        os.register_at_fork(before=self.flush, after_in_child=self._forget_schedule)
        self._exposition_registry = reg
        if multiprocess_dir is not None:
            from prometheus_client import multiprocess

            self._exposition_registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(self._exposition_registry, path=multiprocess_dir)

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """The request hot path: plain additions to this worker's pending numbers, no prometheus_client call."""
        if method not in _METHODS:  # any token is a valid method: keep the cache and the label set bounded
            method = "unknown"
        key = (endpoint, method, status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = [0.0] * (2 + len(self._bounds))
        pending[0] += 1
        pending[1] += seconds
        pending[2 + bisect.bisect_left(self._bounds, seconds)] += 1  # prometheus_client: the first bound >= value
        if self._flush_loop is not asyncio._get_running_loop():
            self._schedule()

    def count(self, child: Any, amount: float = 1) -> None:
        """Add to a counter (a child or an unlabelled counter) at the next flush."""
        self._counts[child] = self._counts.get(child, 0) + amount
        if self._flush_loop is not asyncio._get_running_loop():
            self._schedule()

    def child(self, family: Any, label: str) -> Any:
        """The child of a one-label family, looked up once per label value (labels() costs microseconds)."""
        child = self._labelled.get((family, label))
        if child is None:
            child = self._labelled[(family, label)] = family.labels(label)
        return child

    def _schedule(self) -> None:
        loop = asyncio._get_running_loop()
        if loop is None:  # no event loop here (a synchronous caller): write through
            self.flush()
            return
        self._flush_loop = loop
        loop.call_later(FLUSH_INTERVAL, self.flush)

    def _forget_schedule(self) -> None:
        """In a forked child: the parent's loop and its timer did not come along (the parent flushed first)."""
        self._flush_loop = _UNSCHEDULED
        self._pending = {}
        self._counts = {}

    def flush(self) -> None:
        """Hand the pending numbers to prometheus_client (the multiprocess files when there are workers)."""
        self._flush_loop = _UNSCHEDULED
        pending, self._pending = self._pending, {}
        counts, self._counts = self._counts, {}
        for key, numbers in pending.items():
            requests, duration, response_time, statuses = self._children.get(key) or self._bind(*key)
            requests.inc(numbers[0])
            statuses.inc(numbers[0])
            for histogram in (duration, response_time):
                # Histogram.observe() adds to _sum and to the one bucket the value falls in (the exposition
                # accumulates them); with one value per request, the same as adding the gathered numbers.
                histogram._sum.inc(numbers[1])
                buckets = histogram._buckets
                for i in range(len(buckets)):
                    if numbers[2 + i]:
                        buckets[i].inc(numbers[2 + i])
        for child, amount in counts.items():
            child.inc(amount)

    def _bind(self, endpoint: str, method: str, status: int) -> tuple[Any, Any, Any, Any]:
        code = str(status)
        lower = _METHODS[method]
        upper = method  # prometheusx labels statuses with r.Method as sent; here known methods only
        children = (self.requests.labels(*_CONST_VALUES, code, lower, endpoint),
                    self.duration.labels(*_CONST_VALUES, code, lower, endpoint),
                    self.response_time.labels(*_CONST_VALUES, endpoint),
                    self.statuses.labels(*_CONST_VALUES, upper, _status_bucket(status)))
        self._children[(endpoint, method, status)] = children
        return children

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        self.flush()  # this worker's latest requests; the others flush on their own within FLUSH_INTERVAL
        if self.dir is not None:
            _forget_dead_workers(self.dir)
        return generate_latest(self._exposition_registry)


def _remove_if_owner(directory: str, owner: int) -> None:
    """Forked workers inherit atexit handlers: only the process that made the directory removes it."""
    if os.getpid() == owner:
        shutil.rmtree(directory, ignore_errors=True)


def setup(*, workers: int = 1) -> None:
    """Turn metrics on; with several workers, before forking them (multiprocess mode)."""
    global _metrics
    if _metrics is not None:
        return
    directory = None
    if workers > 1:
        # A fresh directory each start: files left by an earlier run would be summed in.
        directory = tempfile.mkdtemp(prefix="hydralite-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(_remove_if_owner, directory, os.getpid())
    _metrics = _Metrics(directory)


def enabled() -> bool:
    return _metrics is not None


def request_observer() -> Any:
    """The bound `observe(endpoint, method, status, seconds)` for the request middleware, or None."""
    return _metrics.observe if _metrics is not None else None


def exposition() -> bytes:
    """The text exposition (format 0.0.4) of every family, summed over workers."""
    return _metrics.exposition() if _metrics is not None else b""


def token_issued(grant_type: str) -> None:
    """A successful token response (the grant type is one the engine knows, so the label set is bounded)."""
    if _metrics is not None:
        _metrics.count(_metrics.child(_metrics.tokens, grant_type))


def argon2_verified(result: str) -> None:
    """One argon2 verification ran: "match", "mismatch" or "dummy" (unknown client)."""
    if _metrics is not None:
        _metrics.count(_metrics.child(_metrics.argon2, result))


def secret_cache_hit() -> None:
    if _metrics is not None:
        _metrics.count(_metrics.cache_hits)


def db_error(exc: BaseException) -> None:
    """A database call failed; labelled by the exception's class (a small, fixed set)."""
    if _metrics is not None:
        _metrics.count(_metrics.child(_metrics.db_errors, type(exc).__name__))


def flush() -> None:
    """Hand this process's pending numbers to prometheus_client now (the server calls it when its loop ended)."""
    if _metrics is not None:
        _metrics.flush()


def worker_restarted() -> None:
    """The supervisor started a replacement worker (counted in the supervisor process itself)."""
    if _metrics is not None:
        _metrics.restarts.inc()


def worker_exited(pid: int) -> None:
    """A worker is gone: drop its live gauges now (scrapes also notice dead workers by themselves)."""
    if _metrics is not None and _metrics.dir is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, _metrics.dir)


def _forget_dead_workers(directory: str) -> None:
    from prometheus_client import multiprocess

    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = int(path.rsplit("_", 1)[1].split(".", 1)[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)
        except PermissionError:
            pass


def watch_pool(pool: Any) -> asyncio.Task | None:
    """Sample the pool's size and waiters every second until it closes (a no-op without metrics)."""
    if _metrics is None:
        return None
    task = asyncio.get_running_loop().create_task(_sample_pool(_metrics, pool))
    _tasks.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_tasks.discard)
    return task


async def _sample_pool(metrics: _Metrics, pool: Any) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while not pool.is_closing():
            metrics.pool_size.set(pool.get_size())
            metrics.pool_idle.set(pool.get_idle_size())
            metrics.pool_max.set(pool.get_max_size())
            metrics.pool_waiters.set(pool.waiting())
            await asyncio.sleep(POOL_SAMPLE_INTERVAL)
        for gauge in (metrics.pool_size, metrics.pool_idle, metrics.pool_max, metrics.pool_waiters):
            gauge.set(0)
