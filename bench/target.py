"""The server under test: find a running one (and its processes), or start a private one and stop it by PID.

Server CPU is read from /proc/<pid>/stat of every process that holds the listening socket, so a
server with several workers is measured whole (the supervisor and each forked worker).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    public_url: str
    admin_url: str
    process: subprocess.Popen | None = None
    workdir: Path | None = None
    pids: list[int] = field(default_factory=list)

    @property
    def started_here(self) -> bool:
        return self.process is not None


def alive(url: str, path: str = "/health/alive", timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url + path, timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable() -> str:
    beside = Path(sys.executable).parent / "hydralite"
    found = str(beside) if beside.exists() else shutil.which("hydralite")
    if not found:
        raise SystemExit("hydralite is not installed: run `make bench` (it installs .venv first)")
    return found


def start(workers: int) -> Target:
    """Start `hydralite serve all --dev` on free 127.0.0.1 ports with DSN=memory; wait until ready."""
    public_port, admin_port = _free_port(), _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="hydralite-bench-"))
    env = dict(os.environ, DSN="memory", SERVE_PUBLIC_HOST="127.0.0.1", SERVE_ADMIN_HOST="127.0.0.1",
               SERVE_PUBLIC_PORT=str(public_port), SERVE_ADMIN_PORT=str(admin_port),
               HYDRALITE_WORKERS=str(workers), HYDRALITE_NO_UI="1", LOG_LEVEL="warning")
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen([_executable(), "serve", "all", "--dev"], cwd=workdir, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    target = Target(f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{admin_port}", process, workdir)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if alive(target.public_url, "/health/ready") and alive(target.admin_url, "/health/ready"):
            return target
        time.sleep(0.2)
    stop(target)
    tail = (workdir / "server.log").read_text(errors="replace")[-2000:]
    raise SystemExit(f"the benchmark server did not become ready:\n{tail}")


def stop(target: Target) -> None:
    """SIGTERM the server we started (it drains and stops its embedded PostgreSQL); SIGKILL if it hangs."""
    process = target.process
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if target.workdir is not None:
        shutil.rmtree(target.workdir, ignore_errors=True)


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(cols[9])
    return inodes


def server_pids(url: str) -> list[int]:
    """Every process holding the listening socket of `url` (only those we are allowed to inspect)."""
    port = urlsplit(url).port or 80
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    pids: list[int] = []
    if not wanted:
        return pids
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fd_dir = f"/proc/{entry}/fd"
            if any(os.readlink(f"{fd_dir}/{fd}") in wanted for fd in os.listdir(fd_dir)):
                pids.append(int(entry))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of the given processes so far (None when none can be read)."""
    total, seen = 0, False
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            seen = True
    return total / CLK_TCK if seen else None


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (every core; load generator and PostgreSQL included)."""
    with open("/proc/stat") as fh:
        cols = [int(v) for v in fh.readline().split()[1:]]
    idle = cols[3] + (cols[4] if len(cols) > 4 else 0)  # idle + iowait
    return (sum(cols[:8]) - idle) / CLK_TCK
