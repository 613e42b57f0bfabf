"""Per-worker memory under load and cold start (issue 13 item 4), reported by `make bench` beside the rates.

- RSS: VmRSS of each server process (/proc/<pid>/status), read right after the last load; the target is at most
  120 MB per worker.
- Cold start: `hydralite serve all --dev` with the embedded PostgreSQL and an existing data directory (made by a
  first, unmeasured start), timed from spawning the process to the first 200 on the admin /health/ready; the
  target is 2 s. The first start (initdb, migrations, key generation) is reported too, for reference.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

RSS_TARGET_MB = 120.0
COLD_START_TARGET_S = 2.0


def _kib(path: str, field: str) -> float | None:
    with contextlib.suppress(OSError), open(path) as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return None


def rss_mb(pid: int) -> float | None:
    """Resident set size of one process in MB (None when it is gone or not ours to read)."""
    return _kib(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float | None:
    """Proportional set size in MB: pages shared with the other forked workers count once across them."""
    return _kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def parent_pid(pid: int) -> int | None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])
    return None


def server_memory(pids: list[int]) -> dict:
    """RSS of every server process, split into the supervisor (the parent of the others, if any) and workers."""
    pids = sorted(pids)
    supervisor = [p for p in pids if any(parent_pid(q) == p for q in pids)]
    workers = [p for p in pids if p not in supervisor]
    sizes = {p: rss_mb(p) for p in pids}
    worker_sizes = [round(s, 1) for p in workers if (s := sizes[p]) is not None]
    worker_pss = [round(s, 1) for p in workers if (s := pss_mb(p)) is not None]
    return {"workers_rss_mb": worker_sizes, "workers_pss_mb": worker_pss,
            "supervisor_rss_mb": round(s, 1) if supervisor and (s := sizes[supervisor[0]]) is not None else None,
            "max_worker_rss_mb": max(worker_sizes) if worker_sizes else None, "target_mb": RSS_TARGET_MB}


def workers_setting() -> int:
    """The worker count of the server the bench starts (`serve all --dev`: HYDRALITE_WORKERS, N or auto, else 1)."""
    from hydralite.config.workers import default_workers

    return default_workers(os.environ.get("HYDRALITE_WORKERS", ""), dev=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _timed_start(executable: str, data_dir: Path, timeout: float = 90.0) -> float:
    """Seconds from spawning `serve all --dev` to the first 200 on /health/ready; the server is stopped after."""
    admin_port = _free_port()
    env = dict(os.environ, SERVE_PUBLIC_HOST="127.0.0.1", SERVE_ADMIN_HOST="127.0.0.1",
               SERVE_PUBLIC_PORT=str(_free_port()), SERVE_ADMIN_PORT=str(admin_port),
               HYDRALITE_UI_PORT=str(_free_port()), HYDRALITE_DATA_DIR=str(data_dir), LOG_LEVEL="warning")
    for name in ("DSN", "HYDRALITE_WORKERS", "SECRETS_SYSTEM"):
        env.pop(name, None)  # the embedded database, one worker (--dev), the generated development secret
    url = f"http://127.0.0.1:{admin_port}/health/ready"
    with open(data_dir.parent / "server.log", "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen([executable, "serve", "all", "--dev"], cwd=data_dir.parent, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        while not _ready(url):
            if process.poll() is not None or time.perf_counter() - started > timeout:
                tail = (data_dir.parent / "server.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"cold start: the server did not become ready:\n{tail}")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cold_start(executable: str, runs: int = 3) -> dict:
    """A first start makes the data directory; then `runs` timed starts with it in place."""
    workdir = Path(tempfile.mkdtemp(prefix="hydralite-coldstart-"))
    try:
        first = _timed_start(executable, workdir / "data")
        times = [_timed_start(executable, workdir / "data") for _ in range(runs)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"first_start_s": round(first, 2), "starts_s": [round(t, 2) for t in times],
            "median_s": round(statistics.median(times), 2), "target_s": COLD_START_TARGET_S}


def report(memory: dict | None, start: dict | None) -> str:
    """Two lines for the end of `make bench`."""
    lines = []
    if memory is not None:
        lines.append(f"RSS under load: workers {memory['workers_rss_mb']} MB (max {memory['max_worker_rss_mb']}, "
                     f"target <= {RSS_TARGET_MB:g}; PSS {memory['workers_pss_mb']} MB), "
                     f"supervisor {memory['supervisor_rss_mb']} MB")
    if start is not None:
        lines.append(f"cold start (serve all --dev, embedded PostgreSQL, data directory exists): median "
                     f"{start['median_s']} s of {start['starts_s']} (target <= {COLD_START_TARGET_S:g} s); "
                     f"first start with a new data directory {start['first_start_s']} s")
    return "\n".join(lines)
