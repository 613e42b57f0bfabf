"""The hot paths under a microscope: hydralite on a throwaway PostgreSQL (fsync on, pg_stat_statements loaded),
as ../shared/perf/side_by_side.py runs it, with what the ratio alone does not show.

For the token and introspection endpoints in turn: wrk at CONNS connections for DURATION seconds, then the rate,
p99, errors, server and PostgreSQL CPU per request (from /proc), and the statements PostgreSQL ran (calls, mean
time, shared buffers touched). PROFILE=1 records one worker with py-spy meanwhile (raw folded stacks in
bench/results/, summarised by top frames). COLD=1 instead measures a cold start: it starts the server, waits
only for /health/ready, and runs wrk against the token endpoint at once (the argon2 stampede window); with
PROFILE=1 py-spy records one worker during those first 5 s.

Usage (from the project root): .venv/bin/python bench/hotpaths.py
Env: CONNS=64 DURATION=10 PROFILE=1 COLD=1 EXTRA_SQL (a schema experiment run after the migrations) DSN_EXTRA.
Everything listens on 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("form_post.lua")
BIN = Path(sys.executable).parent
CONNS = int(os.environ.get("CONNS", "64"))
DURATION = int(os.environ.get("DURATION", "10"))
SECRET = "benchsecret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    def __init__(self) -> None:
        dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        self.bin = Path(os.environ.get("PGBIN") or dirs[0])
        self.dir = Path(tempfile.mkdtemp(prefix="hl-hot-pg-"))
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(as_pg([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                              "--auth=trust", "-E", "UTF8"]), check=True, capture_output=True)
        with open(self.dir / "data" / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses='127.0.0.1'\nport={self.port}\nunix_socket_directories='{self.dir}'\n"
                       "fsync=on\nsynchronous_commit=on\nshared_buffers=256MB\nmax_connections=200\n"
                       "shared_preload_libraries='pg_stat_statements'\npg_stat_statements.track_utility=off\n")
        subprocess.run(as_pg([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                              "-w", "start"]), check=True, capture_output=True)
        self.pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        self.dsn = f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"
        self.sql("CREATE EXTENSION pg_stat_statements")

    def sql(self, query: str) -> str:
        return subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                               "-AtX", "-c", query], check=True, capture_output=True, text=True).stdout

    def stop(self) -> None:
        subprocess.run(as_pg([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def tree(pid: int) -> set[int]:
    pids, todo = set(), [pid]
    while todo:
        p = todo.pop()
        pids.add(p)
        for task in glob.glob(f"/proc/{p}/task/*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in Path(task).read_text().split()]
    return pids


def cpu(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def post(url: str, data: bytes, headers: dict[str, str]) -> dict:
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return dict(json.loads(resp.read() or b"{}"))


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.05)
    raise SystemExit(f"nothing answered at {url}")


def wrk(url: str, body: str, auth: str, seconds: int) -> dict:
    env = dict(os.environ, BENCH_BODY=body, BENCH_AUTH=auth)
    out = subprocess.run(["wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s",
                          str(LUA), url], capture_output=True, text=True, env=env, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    return dict(json.loads(line.split(" ", 1)[1]))


def summarise_profile(path: Path, top: int = 25) -> None:
    """Self time by frame and inclusive time by module family, from py-spy's raw (folded) output."""
    own: collections.Counter[str] = collections.Counter()
    family: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        seen = set()
        for frame in frames:
            for fam in ("hydralite/", "asyncpg/", "hypercorn/", "h11/", "starlette/", "asyncio/", "uvloop",
                        "logging/", "prometheus_client/", "orjson"):
                if fam in frame and fam not in seen:
                    seen.add(fam)
                    family[fam] += n
    print(f"  profile: {total} samples; inclusive by family:")
    for fam, n in family.most_common():
        print(f"    {100 * n / total:5.1f}%  {fam}")
    print("  self time, top frames:")
    for frame, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f}%  {frame[:150]}")


def start_server(pg: Postgres, pub: int, adm: int, logfile: Path) -> subprocess.Popen:
    dsn = pg.dsn + "&max_conns=20" + os.environ.get("DSN_EXTRA", "")  # DSN_EXTRA: e.g. "&max_idle_conns=20"
    env = dict(os.environ, DSN=dsn, SECRETS_SYSTEM="hotpaths-secret-0123456789abcdef",
               URLS_SELF_ISSUER=f"http://127.0.0.1:{pub}/", SERVE_PUBLIC_HOST="127.0.0.1",
               SERVE_ADMIN_HOST="127.0.0.1", SERVE_PUBLIC_PORT=str(pub), SERVE_ADMIN_PORT=str(adm),
               HYDRALITE_NO_UI="true")
    return subprocess.Popen([str(BIN / "hydralite"), "serve", "all", "--dev", "--workers", "2"], env=env,
                            stdout=open(logfile, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    pg = Postgres()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    logfile = Path(tempfile.mkstemp(prefix="hl-hot-", suffix=".log")[1])
    proc = None
    try:
        subprocess.run([str(BIN / "hydralite"), "migrate", "sql", "up", "-e", "--yes"], env=dict(os.environ,
                       DSN=pg.dsn), check=True, capture_output=True)
        if os.environ.get("EXTRA_SQL"):  # a schema experiment, applied after the migrations
            pg.sql(os.environ["EXTRA_SQL"])
        pub, adm = free_port(), free_port()
        auth = "Basic " + base64.b64encode(f"perf:{SECRET}".encode()).decode()
        token_url = f"http://127.0.0.1:{pub}/oauth2/token"
        body = "grant_type=client_credentials&scope=api"
        if os.environ.get("COLD"):
            # The client exists before the server starts: nothing has been verified in this process yet.
            proc = start_server(pg, pub, adm, logfile)
            wait_ready(f"http://127.0.0.1:{adm}/health/ready")
            post(f"http://127.0.0.1:{adm}/admin/clients", json.dumps(
                {"client_id": "perf", "client_secret": SECRET, "grant_types": ["client_credentials"],
                 "scope": "api"}).encode(), {"Content-Type": "application/json"})
            stop_server(proc)
            proc = start_server(pg, pub, adm, logfile)
            t0 = time.monotonic()
            wait_ready(f"http://127.0.0.1:{pub}/health/ready")
            ready = time.monotonic() - t0
            spy = None
            if os.environ.get("PROFILE"):  # one worker's first 5 s under load
                worker = sorted(tree(proc.pid) - {proc.pid})[-1]
                spy = subprocess.Popen([str(BIN / "py-spy"), "record", "-d", "5", "-r", "200", "--gil", "--format",
                                        "raw", "-o", str(results / "profile-cold.txt"), "--pid", str(worker)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            d0 = cpu(pg.pid)
            r = wrk(token_url, body, auth, 5)
            print(f"  PostgreSQL CPU in these 5 s: {1000 * (cpu(pg.pid) - d0) / max(r['requests'], 1):.3f} ms/req")
            if spy is not None:
                spy.wait(60)
                summarise_profile(results / "profile-cold.txt")
            print(f"cold start: ready after {ready:.2f} s; token 5 s at {CONNS} conns: "
                  f"{r['requests'] / (r['duration_us'] / 1e6):.0f}/s p50 {r['p50_us'] / 1000:.1f} ms "
                  f"p99 {r['p99_us'] / 1000:.1f} ms non2xx {r['non_2xx']} sockerr {r['socket_errors']}")
            r = wrk(token_url, body, auth, 5)  # the same server, warm: what the machine gives without a cold start
            print(f"then warm:  token 5 s at {CONNS} conns: {r['requests'] / (r['duration_us'] / 1e6):.0f}/s "
                  f"p50 {r['p50_us'] / 1000:.1f} ms p99 {r['p99_us'] / 1000:.1f} ms non2xx {r['non_2xx']} "
                  f"sockerr {r['socket_errors']}")
            return 0
        proc = start_server(pg, pub, adm, logfile)
        wait_ready(f"http://127.0.0.1:{pub}/health/ready")
        post(f"http://127.0.0.1:{adm}/admin/clients", json.dumps(
            {"client_id": "perf", "client_secret": SECRET, "grant_types": ["client_credentials"],
             "scope": "api"}).encode(), {"Content-Type": "application/json"})
        token = post(token_url, body.encode(), {"Authorization": auth,
                                                "Content-Type": "application/x-www-form-urlencoded"})["access_token"]
        wrk(token_url, body, auth, 2)  # warm-up
        workers = sorted(tree(proc.pid) - {proc.pid})
        for name, url, form, hdr in (("token", token_url, body, auth),
                                     ("introspect", f"http://127.0.0.1:{adm}/admin/oauth2/introspect",
                                      f"token={token}", "")):
            pg.sql("SELECT pg_stat_statements_reset()")
            spy = None
            if os.environ.get("PROFILE") and workers:
                out = results / f"profile-{name}.txt"
                spy = subprocess.Popen([str(BIN / "py-spy"), "record", "-d", str(max(1, DURATION - 1)), "-r", "200",
                                        "--gil", "--format", "raw", "-o", str(out), "--pid", str(workers[-1])],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            c0, d0 = cpu(proc.pid), cpu(pg.pid)
            r = wrk(url, form, hdr, DURATION)
            c1, d1 = cpu(proc.pid), cpu(pg.pid)
            n = max(r["requests"], 1)
            print(f"{name:10s} {n / (r['duration_us'] / 1e6):7.0f}/s p50 {r['p50_us'] / 1000:6.1f} ms "
                  f"p99 {r['p99_us'] / 1000:6.1f} ms non2xx {r['non_2xx']} sockerr {r['socket_errors']} "
                  f"server {1000 * (c1 - c0) / n:.3f} ms/req db {1000 * (d1 - d0) / n:.3f} ms/req")
            print(pg.sql("SELECT calls, round(mean_exec_time::numeric, 4), shared_blks_hit + shared_blks_read "
                         "+ shared_blks_dirtied, right(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
                         "FROM pg_stat_statements WHERE calls > 50 ORDER BY total_exec_time DESC LIMIT 6"))
            if spy is not None:
                spy.wait(DURATION + 30)
                summarise_profile(results / f"profile-{name}.txt")
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            stop_server(proc)
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
