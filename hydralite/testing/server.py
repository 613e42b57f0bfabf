"""A hydralite server for a test session: a `serve all --dev` subprocess on free loopback ports.

The database is either the user's (an external DSN) or an embedded PostgreSQL that this process starts
itself, so the DSN is known here and `reset()` can truncate between tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Environment prefixes of Hydra's keys (and hydralite's own): the session's shell must not configure the server.
_SCRUBBED = ("DSN", "DEV", "SECRETS_", "SERVE_", "URLS_", "TTL_", "STRATEGIES_", "OAUTH2_", "OIDC_", "CLIENTS_",
             "LOG_", "TRACING_", "WEBFINGER_", "HYDRALITE_", "ORY_SDK_URL")
#: Tables that reset() keeps: the migration record and the key sets (signing keys survive a reset).
_KEPT = ("hydralite_migration", "hydralite_jwk")
STOP_TIMEOUT = 20.0


class ServerError(RuntimeError):
    """The server did not start; the message ends with its log."""


@dataclass(frozen=True)
class ServerOptions:
    """What the plugin reads from pytest.ini / the command line."""

    dsn: str | None = None
    config_files: Sequence[str] = ()
    #: Hydra keys (`ttl.access_token`) or their environment names (`TTL_ACCESS_TOKEN`) → values.
    settings: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    start_timeout: float = 60.0


def env_name(key: str) -> str:
    """`ttl.access_token` → `TTL_ACCESS_TOKEN` (Hydra's mapping); an environment name is kept."""
    return key.upper().replace(".", "_") if "." in key or key.islower() else key


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in its own thread and loop, so it also works inside an async test."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="hydralite-testing")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _truncate(dsn: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                "AND tablename LIKE 'hydralite\\_%' AND NOT (tablename = ANY($1::text[]))",
                                list(_KEPT))
        tables = sorted(r["tablename"] for r in rows)
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        return tables
    finally:
        await conn.close()


@dataclass
class HydraliteServer:
    """A running server: its URLs, DSN, PID and log."""

    public_url: str
    admin_url: str
    issuer: str
    dsn: str
    process: subprocess.Popen[bytes]
    log_path: Path
    scratch: Path
    embedded: Any = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, tail: int | None = None) -> str:
        """The server's output so far (the last `tail` lines)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def reset(self) -> list[str]:
        """Truncate every hydralite table but the migrations and key sets; return the tables emptied."""
        return run(_truncate(self.dsn))

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it does not drain in time; stop the embedded database."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            if self.embedded is not None:
                self.embedded.stop()
                self.embedded = None
            shutil.rmtree(self.scratch, ignore_errors=True)


def _environment(options: ServerOptions, dsn: str, public_port: int, admin_port: int, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update({env_name(k): str(v) for k, v in options.settings.items()})
    env.update({  # the plugin's own: the user's settings cannot move the server off these
        "DSN": dsn,
        "SERVE_PUBLIC_HOST": "127.0.0.1",
        "SERVE_ADMIN_HOST": "127.0.0.1",
        "SERVE_PUBLIC_PORT": str(public_port),
        "SERVE_ADMIN_PORT": str(admin_port),
        "HYDRALITE_DATA_DIR": str(data_dir),
        "HYDRALITE_NO_UI": "1",  # sign_in answers login and consent through the admin API
    })
    return env


def _wait_ready(server: HydraliteServer, timeout: float) -> str:
    """Poll the admin readiness check; return the issuer from discovery."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerError(f"hydralite exited with status {server.process.returncode}:\n{server.log()}")
            try:
                if http.get(server.admin_url + "/health/ready").status_code == 200:
                    discovery = http.get(server.public_url + "/.well-known/openid-configuration")
                    return str(discovery.json()["issuer"])
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise ServerError(f"hydralite was not ready within {timeout:g}s:\n{server.log()}")


def start(options: ServerOptions) -> HydraliteServer:
    """Start the database (unless external), migrate it, and serve on free 127.0.0.1 ports until stop()."""
    from hydralite.db import migrate
    from hydralite.db.embedded import EmbeddedPostgres

    scratch = Path(tempfile.mkdtemp(prefix="hydralite-pytest-"))
    embedded = None
    try:
        if options.dsn:
            dsn = options.dsn
        else:
            embedded = EmbeddedPostgres(None)
            dsn = embedded.start()
        run(migrate.up_dsn(dsn))
        public_port, admin_port = free_port(), free_port()
        public_url, admin_url = f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{admin_port}"
        # Defaults as the first configuration file: the user's files come later and win, the environment wins over all.
        defaults = scratch / "defaults.json"
        defaults.write_text(json.dumps({"urls": {"self": {"issuer": public_url + "/"}},
                                        "secrets": {"system": [secrets.token_urlsafe(32)]}}))
        args = [sys.executable, "-m", "hydralite", "serve", "all", "--dev", "-c", str(defaults)]
        for path in options.config_files:
            args += ["-c", str(path)]
        if options.workers > 1:
            args += ["--workers", str(options.workers)]
        env = _environment(options, dsn, public_port, admin_port, scratch / "data")
        log_path = scratch / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    server = HydraliteServer(public_url, admin_url, "", dsn, process, log_path, scratch, embedded)
    try:
        server.issuer = _wait_ready(server, options.start_timeout)
    except BaseException as exc:
        log_text = server.log()
        server.stop()
        if isinstance(exc, ServerError):
            raise ServerError(str(exc).split("\n", 1)[0] + "\n" + log_text) from None
        raise
    return server
