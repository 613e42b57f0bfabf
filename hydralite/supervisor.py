"""Supervised worker processes for `serve --workers N`.

The listening sockets are opened once by the caller before `supervise` forks, so every worker
accepts on the same sockets and a replacement needs no new bind. Each worker reports through a
pipe when it is ready (or the one-line error it failed with). A worker that dies after it was
ready is replaced at once, while the others keep serving. A worker that dies before it was ready
is a start-up failure: after as many consecutive start-up failures as there are workers the
supervisor stops every worker and raises `StartupFailed` with the worker's error, instead of
restarting forever (bad configuration, database unreachable at start, a port taken). SIGTERM or
SIGINT is forwarded to every worker, each drains its in-flight requests, and the supervisor
returns 0 once all have exited cleanly.

Hypercorn's own multi-worker mode is not used on purpose: it stops every worker as soon as one
exits, dropping the others' in-flight requests (see DESIGN.md, performance notes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable

log = logging.getLogger("hydralite")

#: How long stopping workers may take to drain (Hypercorn's graceful timeout plus closing the pool)
#: before the supervisor kills them.
DRAIN_TIMEOUT = 30.0
#: Pause before retrying a worker that failed at start-up (a crashed ready worker is replaced at once).
STARTUP_RETRY_DELAY = 0.5

#: run_worker(index, ready): serve in the forked child until stopped; call ready() once serving.
RunWorker = Callable[[int, Callable[[], None]], None]


class StartupFailed(RuntimeError):
    """Workers kept dying before they were ready; the message is the last worker's error line."""


@dataclasses.dataclass
class _Worker:
    index: int
    pid: int
    fd: int  # read end of the worker's readiness pipe
    ready: bool = False
    error: str = ""
    buffer: bytes = b""


def describe_status(status: int) -> str:
    """`status 1` or `signal SIGKILL`, from a waitpid status."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"status {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


def error_line(exc: BaseException) -> str:
    """One line for an exception, as the CLI prints errors (multi-line messages are joined)."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ValueError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


class Supervisor:
    """Forks `workers` processes running `run_worker` and keeps that many alive until told to stop."""

    def __init__(self, workers: int, run_worker: RunWorker, *, on_restart: Callable[[], None] | None = None,
                 on_exit: Callable[[int], None] | None = None, drain_timeout: float = DRAIN_TIMEOUT) -> None:
        self.workers = workers
        self.run_worker = run_worker
        self.on_restart = on_restart
        self.on_exit = on_exit
        self.drain_timeout = drain_timeout
        self.live: dict[int, _Worker] = {}
        self.pending: list[tuple[float, int]] = []  # (when, index) of workers to start again
        self.failures = 0  # consecutive start-up failures
        self.fatal = ""
        self.stop_requested = False
        self.stopping_since: float | None = None
        self.unclean = False
        self._wakeup_r = self._wakeup_w = -1

    # -- parent side -------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Supervise until every worker has exited; 0 after a clean drain. Raises StartupFailed."""
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)}
        old_wakeup = signal.set_wakeup_fd(self._wakeup_w)
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to wake select() through the wakeup fd
        try:
            for index in range(self.workers):
                self._spawn(index)
            while self.live or (self.pending and self.stopping_since is None):
                self._step()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for worker in self.live.values():  # only after an unexpected error in the loop itself
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
            os.close(self._wakeup_r)
            os.close(self._wakeup_w)
        if self.fatal:
            raise StartupFailed(self.fatal)
        return 1 if self.unclean else 0

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        self.stop_requested = True

    def _step(self) -> None:
        now = time.monotonic()
        timeout = 0.5
        if self.pending and self.stopping_since is None:
            timeout = max(0.0, min(timeout, min(when for when, _ in self.pending) - now))
        readable: list[int] = []
        with contextlib.suppress(InterruptedError):
            readable, _, _ = select.select([self._wakeup_r, *(w.fd for w in self.live.values())], [], [], timeout)
        if self._wakeup_r in readable:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wakeup_r, 512):
                    pass
        for worker in list(self.live.values()):
            if worker.fd in readable:
                self._read_report(worker)
        self._reap()
        if self.stop_requested and self.stopping_since is None:
            log.info("stopping: draining %d worker(s)", len(self.live))
            self._stop_all()
        if self.stopping_since is not None:
            if self.live and time.monotonic() - self.stopping_since > self.drain_timeout:
                log.error("workers did not drain within %.0fs; killing %s", self.drain_timeout,
                          ", ".join(str(pid) for pid in self.live))
                self.unclean = True
                for worker in self.live.values():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGKILL)
                self.stopping_since = float("inf")  # reap what is left without killing again
            return
        now = time.monotonic()
        for when, index in [p for p in self.pending if p[0] <= now]:
            self.pending.remove((when, index))
            self._spawn(index)
            self._hook(self.on_restart)

    def _stop_all(self) -> None:
        self.stopping_since = time.monotonic()
        self.pending.clear()
        for worker in self.live.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)

    def _read_report(self, worker: _Worker) -> None:
        """Read what the worker wrote so far: `ready`, or `error <line>` when it failed at start-up."""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(worker.fd, 4096):
                worker.buffer += chunk
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for line in lines:
            if line == b"ready" and not worker.ready:
                worker.ready = True
                self.failures = 0
            elif line.startswith(b"error "):
                worker.error = line[6:].decode(errors="replace")

    def _reap(self) -> None:
        for pid in list(self.live):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # pragma: no cover - reaped elsewhere
                done, status = pid, 0
            if done == pid:
                self._exited(self.live.pop(pid), status)

    def _hook(self, hook: Callable[..., None] | None, *args: int) -> None:
        """Run a caller's hook (metrics); a failing hook is logged and never stops the supervision."""
        if hook is not None:
            try:
                hook(*args)
            except Exception:
                log.exception("supervisor hook %s failed", getattr(hook, "__name__", hook))

    def _exited(self, worker: _Worker, status: int) -> None:
        self._read_report(worker)
        os.close(worker.fd)
        self._hook(self.on_exit, worker.pid)
        code = os.waitstatus_to_exitcode(status)
        how = describe_status(status)
        if self.stopping_since is not None:
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                log.warning("worker %d exited with %s while stopping", worker.pid, how)
                self.unclean = True
            return
        if worker.ready:
            self.failures = 0
            log.warning("worker %d exited with %s; starting a replacement", worker.pid, how)
            self.pending.append((time.monotonic(), worker.index))
            return
        self.failures += 1
        error = worker.error or f"worker {worker.pid} exited with {how} before it was ready"
        if self.failures >= self.workers:
            log.error("worker %d failed to start (%d in a row), stopping: %s", worker.pid, self.failures, error)
            self.fatal = error
            self._stop_all()
            return
        log.warning("worker %d failed to start (%s); starting a replacement", worker.pid, error)
        self.pending.append((time.monotonic() + STARTUP_RETRY_DELAY, worker.index))

    def _spawn(self, index: int) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            os.close(read_fd)
            self._child(index, write_fd)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.live[pid] = _Worker(index, pid, read_fd)

    # -- child side --------------------------------------------------------------------------------------------
    def _child(self, index: int, report_fd: int) -> None:  # pragma: no cover - measured by the e2e tests
        """Run one worker; never returns (os._exit, so the parent's cleanup never runs twice)."""
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        for fd in (self._wakeup_r, self._wakeup_w, *(w.fd for w in self.live.values())):
            with contextlib.suppress(OSError):
                os.close(fd)
        reported = False

        def ready() -> None:
            nonlocal reported
            if not reported:
                reported = True
                os.write(report_fd, b"ready\n")

        code = 0
        try:
            self.run_worker(index, ready)
        except BaseException as exc:
            code = 1
            if reported:
                log.exception("worker %d failed", os.getpid())
            else:
                line = error_line(exc)
                log.error("worker %d failed to start: %s", os.getpid(), line)
                log.debug("start-up failure", exc_info=True)
                with contextlib.suppress(OSError):
                    os.write(report_fd, b"error " + line.encode(errors="replace")[:4000] + b"\n")
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)


def supervise(workers: int, run_worker: RunWorker, *, on_restart: Callable[[], None] | None = None,
              on_exit: Callable[[int], None] | None = None) -> int:
    """Run `workers` supervised worker processes until SIGTERM/SIGINT; the exit status to use.

    `on_restart()` runs in this (parent) process each time a replacement worker is started, `on_exit(pid)`
    each time a worker has exited; both are for metrics.
    """
    return Supervisor(workers, run_worker, on_restart=on_restart, on_exit=on_exit).run()
