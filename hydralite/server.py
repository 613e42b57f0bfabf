"""Wiring: one pool and one engine for both apps; Hypercorn serving; graceful shutdown.

`serve all` runs the public and admin apps in one process. With --workers N (N > 1) the
listening sockets are opened once, N forked processes serve them, and SIGTERM is passed
to each worker, which drains its in-flight requests before the supervisor exits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import secrets as _secrets
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from hydralite import ops
from hydralite.config import Config, ConfigError
from hydralite.db import migrate, notify
from hydralite.db.embedded import EmbeddedPostgres
from hydralite.db.pool import create_pool, parse_dsn
from hydralite.db.repository import PgRepository, warm_up
from hydralite.engine import backchannel
from hydralite.engine.core import Engine
from hydralite.ops import logs, metrics, tracing
from hydralite.supervisor import StartupFailed, supervise
from hydralite.web import admin, cors, hot, public
from hydralite.web.instrument import instrument

if TYPE_CHECKING:
    from hypercorn.config import Config as HyperConfig
    from hypercorn.typing import ASGIFramework

log = logging.getLogger("hydralite")

GRACEFUL_TIMEOUT = 15.0
#: A worker whose servers are still up this long after they started counts as started (see supervisor.py).
STARTUP_SETTLE = 0.3


def ensure_secrets(config: Config, data_dir: Path) -> Config:
    """Under --dev a missing SECRETS_SYSTEM is generated once and kept in the data directory."""
    if config.secrets_system:
        return config
    if not config.dev:
        raise ConfigError("invalid configuration:\n  - SECRETS_SYSTEM: must be set (or run with --dev)")
    path = data_dir / "secrets.system"
    if path.exists():
        secret = path.read_text().strip()
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = _secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret + "\n")
    log.warning("SECRETS_SYSTEM is not set: using a generated development secret kept in %s. "
                "Set SECRETS_SYSTEM in production.", path)
    return dataclasses.replace(config, secrets_system=(secret,))


@dataclasses.dataclass
class Database:
    """The DSN to use, and the embedded server behind it when there is one."""

    dsn: str
    embedded: EmbeddedPostgres | None = None
    data_dir: Path | None = None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(config: Config) -> Database:
    """Start the embedded PostgreSQL when DSN is unset or `memory`, and migrate it; else use DSN."""
    if not config.embedded:
        return Database(config.dsn, data_dir=Path(config.data_dir))
    embedded = EmbeddedPostgres(None if config.dsn == "memory" else config.data_dir)
    dsn = embedded.start()
    applied = asyncio.run(migrate.up_dsn(dsn))
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    return Database(dsn, embedded, embedded.root)


def _bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _hypercorn_config(sock: socket.socket, config: Config) -> HyperConfig:
    from hypercorn.config import Config as HyperConfig

    hc = HyperConfig()
    hc.bind = [f"fd://{sock.fileno()}"]
    hc.graceful_timeout = GRACEFUL_TIMEOUT
    hc.keep_alive_timeout = 5
    hc.read_timeout = 10
    hc.h11_max_incomplete_size = 16 * 1024
    hc.include_server_header = False
    hc.accesslog = None
    hc.errorlog = logging.getLogger("hypercorn.error") if config.log_level == "debug" else None  # our format
    return hc


async def _serve(config: Config, dsn: str, sockets: dict[str, socket.socket], stop: asyncio.Event,
                 extra: Callable[[Engine], list] | None = None, with_ui: bool = True,
                 ready: Callable[[], None] | None = None) -> None:
    from hypercorn.asyncio import serve

    from hydralite.web import keep_alive, one_write

    one_write.install()  # each response in one socket write
    keep_alive.install()  # the keep-alive timeout as a timer, not a task per request
    # No connection opened per request, and the hot statements prepared on each connection when it opens.
    pool = await create_pool(dsn, max_size=config.pool_max_size, warm=True, prepare=warm_up)
    repo = PgRepository(pool)
    engine = Engine.build(config, repo)
    invalidations = notify.attach(engine.keys, pool, dsn)  # key changes made by other workers and servers
    factories = {"public": public.create_app, "admin": admin.create_app}
    apps = {name: instrument(cors.for_port(name, hot.install(factories[name](engine, repo.ping), name, engine), engine))
            for name in sockets}
    metrics.watch_pool(pool)
    if tracing.enabled(config):  # set up here, in each worker after the fork; off, nothing is installed
        from hydralite.ops import tracing_asgi

        tracing.setup(config)
        apps = {name: tracing_asgi.instrument(app, name) for name, app in apps.items()}
    # Starlette types scopes as MutableMapping, Hypercorn as TypedDicts: the same ASGI 3 callable at run time.
    tasks = [serve(cast("ASGIFramework", apps[name]), _hypercorn_config(sock, config), shutdown_trigger=stop.wait)
             for name, sock in sockets.items()]
    if extra is not None:
        tasks.extend(extra(engine))
    if with_ui and config.embedded_ui and "admin" in sockets:
        from hydralite.ui.app import serve_ui

        admin_port = sockets["admin"].getsockname()[1]
        tasks.append(serve_ui(config.public_host or "0.0.0.0", config.ui_port, f"http://127.0.0.1:{admin_port}",
                              stop.wait))
    try:
        served = asyncio.gather(*tasks)
        if ready is not None:
            # Hypercorn runs the lifespan start-up and binds the UI port in its first steps: a worker whose
            # servers are still up after a short settle has started (else it is a start-up failure).
            await asyncio.wait([served], timeout=STARTUP_SETTLE)
            if not served.done():
                ready()
        await served
    finally:
        await backchannel.drain()  # back-channel logout deliveries still running get a few seconds to finish
        tracing.shutdown()  # the servers have drained: export the spans still queued
        engine.hasher.close()
        await invalidations.close()
        await asyncio.wait_for(pool.close(), timeout=10)


async def _main(config: Config, dsn: str, sockets: dict[str, socket.socket], with_ui: bool,
                ready: Callable[[], None] | None = None) -> None:
    stop = asyncio.Event()
    _install_stop(stop)
    await _serve(config, dsn, sockets, stop, with_ui=with_ui, ready=ready)


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def _run_loop(coro_factory: Callable[[], object]) -> None:
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop is optional off Linux
        runner = asyncio.Runner()
    try:
        with runner:
            runner.run(coro_factory())  # type: ignore[arg-type]
    finally:
        logs.flush()  # lines the loop gathered but did not get to write
        metrics.flush()  # and the counts (with workers, a dead worker's file still counts in the totals)


def serve(config: Config, which: str, workers: int = 1) -> None:
    """Serve `which` (all, public or admin) until SIGTERM/SIGINT, then drain and close."""
    if config.dsn == "memory" and which != "all":
        raise ConfigError("invalid configuration:\n  - DSN=memory is only allowed with `serve all`")
    tracing.require(config)  # tracing on but its extra missing: one line, before anything starts
    ops.setup(config, workers=workers)  # logs and metrics; before workers fork (metrics' multiprocess mode)
    database = open_database(config)
    try:
        config = ensure_secrets(config, database.data_dir or Path(config.data_dir))
        sockets: dict[str, socket.socket] = {}
        if which in ("all", "public"):
            sockets["public"] = _bind_socket(config.public_host or "0.0.0.0", config.public_port)
        if which in ("all", "admin"):
            sockets["admin"] = _bind_socket(config.admin_host or "0.0.0.0", config.admin_port)
        for name, sock in sockets.items():
            host, port = sock.getsockname()[:2]
            log.info("serving %s API on http://%s:%s", name, host, port)
        if workers <= 1:
            _run_loop(functools.partial(_main, config, database.dsn, sockets, True))
        else:
            config = _share_pool(config, database.dsn, workers)
            try:
                status = supervise(workers, functools.partial(_worker, config, database.dsn, sockets),
                                   on_restart=metrics.worker_restarted, on_exit=metrics.worker_exited)
            except StartupFailed as exc:
                raise ConfigError(f"a worker failed to start: {exc}") from None
            if status:
                sys.exit(status)
    finally:
        database.close()


def _share_pool(config: Config, dsn: str, workers: int) -> Config:
    """max_conns bounds the server's pooled connections, as it bounds Hydra's one process: each worker gets its
    share, rounded down (at least one; each worker also holds one LISTEN connection, db/notify.py)."""
    total = config.pool_max_size or parse_dsn(dsn).max_size
    return dataclasses.replace(config, pool_max_size=max(1, total // workers))


def _worker(config: Config, dsn: str, sockets: dict[str, socket.socket], index: int,
            ready: Callable[[], None]) -> None:
    """One supervised worker (in the forked child); the first one also serves the example UI."""
    _run_loop(functools.partial(_main, config, dsn, sockets, index == 0, ready))

