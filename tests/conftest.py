"""Shared fixtures: a real PostgreSQL (the embedded one, or HYDRALITE_TEST_DSN), a migrated template
database cloned per use, and the real server started as a subprocess on free ports."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Server logs and data directories of this test run, removed at the end.
SCRATCH = Path(tempfile.mkdtemp(prefix="hydralite-tests-"))
TEST_SECRET = "test-system-secret-0123456789abcdef"
_counter = itertools.count()
#: A user's project in miniature, run in its own pytest by tests/e2e/test_testing_kit.py.
collect_ignore = ["kit_project"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@dataclass
class Postgres:
    dsn: str  # maintenance DSN (database "postgres")
    pgdata: Path | None = None

    async def create_database(self, template: str | None = None) -> str:
        name = f"hl_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
        conn = await asyncpg.connect(self.dsn)
        try:
            suffix = f" TEMPLATE {template}" if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        return with_database(self.dsn, name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    external = os.environ.get("HYDRALITE_TEST_DSN")
    if external:
        yield Postgres(external)
        return
    import pgserver

    root = Path(tempfile.mkdtemp(prefix="hydralite-test-pg-"))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield Postgres(server.get_uri(), root / "pgdata")
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_db(postgres: Postgres) -> str:
    """A database migrated once; tests clone it with CREATE DATABASE … TEMPLATE."""
    from hydralite.db import migrate

    dsn = await postgres.create_database()
    await migrate.up_dsn(dsn)
    return urlsplit(dsn).path.lstrip("/")


@pytest.fixture
async def fresh_dsn(postgres: Postgres, template_db: str) -> str:
    return await postgres.create_database(template_db)


@dataclass
class Server:
    public_url: str
    admin_url: str
    dsn: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(dsn: str, public_port: int, admin_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("URLS_", "SERVE_", "TTL_", "OAUTH2_"))}
    env.update({
        "DSN": dsn,
        "SECRETS_SYSTEM": TEST_SECRET,
        "SERVE_PUBLIC_HOST": "127.0.0.1",
        "SERVE_ADMIN_HOST": "127.0.0.1",
        "SERVE_PUBLIC_PORT": str(public_port),
        "SERVE_ADMIN_PORT": str(admin_port),
        "URLS_SELF_ISSUER": f"http://127.0.0.1:{public_port}/",
        "URLS_LOGIN": "http://127.0.0.1:9/login",
        "URLS_CONSENT": "http://127.0.0.1:9/consent",
        "URLS_LOGOUT": "http://127.0.0.1:9/logout",
        "HYDRALITE_DATA_DIR": tempfile.mkdtemp(prefix="data-", dir=SCRATCH),
        # One worker unless a test asks for more (extra, or --workers): a server without --dev would use every CPU.
        "HYDRALITE_WORKERS": "1",
    })
    env.update(extra)
    return env


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a server drains), then SIGKILL if it has not exited within 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become ready:\n{log_path.read_text()}")


@contextlib.contextmanager
def run_server(dsn: str, *args: str, ready_path: str = "/health/ready", **extra: str) -> Iterator[Server]:
    """Start `hydralite serve all --dev` on free ports; stop it by PID afterwards."""
    public_port, admin_port = free_port(), free_port()
    env = server_env(dsn, public_port, admin_port, **extra)
    log_path = Path(tempfile.mkstemp(prefix="server-", suffix=".log", dir=SCRATCH)[1])
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "hydralite", "serve", "all", "--dev", *args], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(f"http://127.0.0.1:{admin_port}{ready_path}", process, log_path)
        yield Server(f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{admin_port}", dsn, process, log_path)
    finally:
        stop(process)


@pytest.fixture(scope="session")
async def server(postgres: Postgres, template_db: str) -> AsyncIterator[Server]:
    """The shared server for e2e tests; each test makes its own clients, so tests do not collide."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn) as srv:
        yield srv


@pytest.fixture
async def admin(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=30) as client:
        yield client


@pytest.fixture
async def public(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.public_url, timeout=30) as client:
        yield client


@pytest.fixture
def make_client(admin: httpx.AsyncClient):
    """Create an OAuth2 client through the admin API; returns the created JSON (with its secret)."""

    async def create(**fields) -> dict:
        fields.setdefault("client_secret", "a-good-secret-" + uuid.uuid4().hex[:8])
        fields.setdefault("grant_types", ["client_credentials"])
        fields.setdefault("scope", "api read write")
        response = await admin.post("/admin/clients", json=fields)
        assert response.status_code == 201, response.text
        return response.json()

    return create


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An RFC 6749 §2.3.1 Basic header (id and secret form-encoded before base64)."""
    import base64
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
