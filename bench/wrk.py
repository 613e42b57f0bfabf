"""Drive Debian's `wrk` (a C load generator: it leaves the most CPU to the server) with form_post.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("form_post.lua")
INSTALL_HINT = "for steadier figures install wrk (Debian/Ubuntu: `apt-get install -y wrk`)"


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, body: str, headers: dict[str, str], connections: int, seconds: float,
        threads: int = 1) -> dict:
    """Run wrk; return requests, seconds, non_2xx, socket_errors, p50 and p99 (seconds)."""
    env = dict(os.environ, BENCH_BODY=body, BENCH_AUTH=headers.get("Authorization", ""))
    threads = max(1, min(threads, connections))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(SCRIPT), url]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.split(" ", 1)[1])
    return {"requests": data["requests"], "seconds": data["duration_us"] / 1e6, "non_2xx": data["non_2xx"],
            "socket_errors": data["socket_errors"], "p50": data["p50_us"] / 1e6, "p99": data["p99_us"] / 1e6}
