"""Workers by default (issue 13 item 4): `serve all` without --dev and without HYDRALITE_WORKERS forks one worker per
available CPU; `--dev` keeps a single process. Workers are counted as child processes of the server in /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SCRATCH, free_port, server_env, wait_ready
from tests.e2e.test_workers import children, eventually

CPUS = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("args", "expected"), [((), CPUS if CPUS > 1 else 0), (("--dev",), 0)],
                         ids=["production-auto", "dev-one"])
async def test_serve_forks_one_worker_per_cpu_unless_dev(fresh_dsn, args, expected):
    public_port, admin_port = free_port(), free_port()
    env = server_env(fresh_dsn, public_port, admin_port, URLS_SELF_ISSUER=f"https://127.0.0.1:{public_port}/")
    del env["HYDRALITE_WORKERS"]  # the default is what is under test
    log_path = Path(tempfile.mkstemp(prefix="server-", suffix=".log", dir=SCRATCH)[1])
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "hydralite", "serve", "all", *args], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(f"http://127.0.0.1:{admin_port}/health/ready", process, log_path)
        if expected:
            await eventually(lambda: len(children(process.pid)) == expected, f"{expected} workers")
        assert len(children(process.pid)) == expected, log_path.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0, log_path.read_text()
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
