"""Supervised workers (issue 9 item 5): `serve all --workers 2` replaces a worker killed under load while
the other keeps serving, SIGTERM still exits 0, and workers that die at start-up end the server with
their error and exit status 1 instead of being restarted forever."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, basic, free_port, run_server, server_env

DEADLINE = 30.0
LOAD_TASKS = 6


def children(pid: int) -> set[int]:
    """Live child processes of `pid`, read from /proc (no psutil)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, …
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


async def eventually(check, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {DEADLINE}s")


async def _load(url: str, auth: dict[str, str], stop: asyncio.Event, outcomes: list) -> None:
    """One client with one connection at a time: alternates readiness probes and token requests until stopped."""
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1)) as client:
        while not stop.is_set():
            for request in (client.get("/health/ready"),
                            client.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth)):
                try:
                    outcomes.append((await request).status_code)
                except httpx.TransportError as exc:
                    outcomes.append(exc)


async def test_killed_worker_is_replaced_while_the_other_serves(postgres, template_db):
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, "--workers", "2") as srv:
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            created = (await admin.post("/admin/clients", json={
                "client_secret": "workers-secret-0123", "grant_types": ["client_credentials"]})).json()
        auth = basic(created["client_id"], "workers-secret-0123")
        workers = await eventually(lambda: len(children(srv.process.pid)) == 2 and children(srv.process.pid),
                                   "two workers")
        victim, survivor = sorted(workers)

        stop = asyncio.Event()
        outcomes: list = []
        tasks = [asyncio.create_task(_load(srv.public_url, auth, stop, outcomes)) for _ in range(LOAD_TASKS)]
        await eventually(lambda: len(outcomes) >= 100, "100 requests under load")
        os.kill(victim, signal.SIGKILL)
        replacement = await eventually(lambda: children(srv.process.pid) - workers, "a replacement worker")
        assert len(replacement) == 1 and survivor in children(srv.process.pid)
        # Keep the load on for a while with the replacement in place, then stop the clients.
        served = len(outcomes)
        await eventually(lambda: len(outcomes) >= served + 100, "100 more requests")
        stop.set()
        await asyncio.gather(*tasks)

        failures = [r for r in outcomes if not isinstance(r, int)]
        statuses = {r for r in outcomes if isinstance(r, int)}
        # Each client has one request in flight at a time: at most one per client was on the killed worker.
        assert len(failures) <= LOAD_TASKS, failures
        assert statuses == {200}, srv.log()
        assert len(outcomes) - len(failures) >= 200

        # The replacement serves on its own: with the survivor stopped, a fresh connection can only reach it.
        (new_pid,) = replacement
        os.kill(survivor, signal.SIGSTOP)
        try:
            async with httpx.AsyncClient(base_url=srv.public_url, timeout=DEADLINE) as fresh:
                token = await fresh.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=auth)
            assert token.status_code == 200 and token.json()["token_type"] == "bearer"
        finally:
            os.kill(survivor, signal.SIGCONT)
        assert f"worker {victim} exited with signal SIGKILL; starting a replacement" in srv.log()
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            page = (await admin.get("/admin/metrics/prometheus")).text
        assert "hydralite_worker_restarts_total 1.0" in page.splitlines(), page
        assert children(srv.process.pid) == {survivor, new_pid}

        srv.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(srv.process.wait, DEADLINE) == 0


def _start_failing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hydralite", "serve", "all", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=DEADLINE * 2)


def test_database_unreachable_at_start_stops_the_server_with_the_workers_error():
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = server_env(f"postgres://hydra:secret@127.0.0.1:{port}/hydra?sslmode=disable", free_port(), free_port())
    done = _start_failing(env, "--dev", "--workers", "2")
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: a worker failed to start: ") and "ConnectionRefusedError" in last, done.stderr
    # Both workers failed once (a retry may have begun meanwhile): no restart loop.
    assert 2 <= len(re.findall(r"worker \d+ failed to start: ", done.stderr)) <= 3, done.stderr


def test_a_port_taken_at_start_stops_the_server_instead_of_restarting_forever(fresh_dsn):
    """The first worker also serves the example UI; its port is taken, so that worker can never start."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = server_env(fresh_dsn, free_port(), free_port(), HYDRALITE_UI_PORT=str(taken.getsockname()[1]))
        for name in ("URLS_LOGIN", "URLS_CONSENT", "URLS_LOGOUT"):
            env.pop(name)
        done = _start_failing(env, "--dev", "--workers", "2")
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: a worker failed to start: ") and "Errno 98" in last, done.stderr
