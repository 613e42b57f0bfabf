"""`make bench`: client_credentials issuance and introspection under load, at 16 and 64 connections, for an
opaque-strategy client and a JWT-strategy client (access_token_strategy=jwt) side by side.

Targets HYDRALITE_PUBLIC_URL / HYDRALITE_ADMIN_URL (default 127.0.0.1:4444 / :4445). When nothing
answers there, it starts `hydralite serve all --dev` with DSN=memory on free 127.0.0.1 ports
(HYDRALITE_WORKERS applies) and stops it by PID afterwards. Prints a markdown table and writes
bench/results/latest.json. Rates on a shared 2-core machine swing by ±30% between runs: read
server CPU per request beside requests per second.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import secrets
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import footprint  # noqa: E402
import loadgen  # noqa: E402
import target as targets  # noqa: E402
import wrk  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> dict:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


def _form(url: str, body: str, headers: dict[str, str] | None = None) -> dict:
    return _call("POST", url, body.encode(), {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


TOKEN_BODY = "grant_type=client_credentials&scope=bench"


def _bench_client(t: targets.Target, strategy: str) -> tuple[str, str, str]:
    """A client_credentials client with the given access_token_strategy: (client_id, auth header, fresh token)."""
    secret = secrets.token_urlsafe(18)
    client = _call("POST", t.admin_url + "/admin/clients", json.dumps({
        "client_name": f"hydralite-bench-{strategy}", "client_secret": secret, "grant_types": ["client_credentials"],
        "scope": "bench", "access_token_strategy": strategy}).encode(), {"Content-Type": "application/json"})
    client_id = client["client_id"]
    auth = "Basic " + base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
    token = _form(t.public_url + "/oauth2/token", TOKEN_BODY, {"Authorization": auth})["access_token"]
    if not _form(t.admin_url + "/admin/oauth2/introspect", f"token={token}").get("active"):
        raise SystemExit(f"introspection of a fresh {strategy} token did not answer active: true")
    if (strategy == "jwt") != (token.count(".") == 2):
        raise SystemExit(f"the {strategy} client did not get a {strategy} access token")
    return client_id, auth, token


def prepare(t: targets.Target) -> dict:
    """Create an opaque and a JWT bench client and a token of each; check that every endpoint answers."""
    opaque_id, opaque_auth, opaque_token = _bench_client(t, "opaque")
    jwt_id, jwt_auth, jwt_token = _bench_client(t, "jwt")
    token_url, introspect_url = t.public_url + "/oauth2/token", t.admin_url + "/admin/oauth2/introspect"
    return {"client_ids": [opaque_id, jwt_id], "scenarios": [
        ("client_credentials", token_url, TOKEN_BODY, {"Authorization": opaque_auth}),
        ("client_credentials (jwt)", token_url, TOKEN_BODY, {"Authorization": jwt_auth}),
        ("introspect", introspect_url, f"token={opaque_token}", {}),
        ("introspect (jwt)", introspect_url, f"token={jwt_token}", {}),
    ]}


def measure(tool: str, url: str, body: str, headers: dict[str, str], connections: int, seconds: float,
            pids: list[int]) -> dict:
    before, machine_before = targets.cpu_seconds(pids), targets.machine_busy_seconds()
    if tool == "wrk":
        r = wrk.run(url, body, headers, connections, seconds)
    else:
        res = loadgen.run(url, body, headers, connections, seconds)
        r = {"requests": res.requests, "seconds": res.seconds, "non_2xx": res.non_2xx,
             "socket_errors": res.socket_errors, "p50": res.percentile(50), "p99": res.percentile(99)}
    after, machine = targets.cpu_seconds(pids), targets.machine_busy_seconds() - machine_before
    cpu = after - before if before is not None and after is not None else None
    n = r["requests"]
    return {"connections": connections, "requests": n, "seconds": round(r["seconds"], 3),
            "rps": round(n / r["seconds"], 1) if r["seconds"] else 0.0,
            "p50_ms": round(r["p50"] * 1000, 2) if r["p50"] is not None else None,
            "p99_ms": round(r["p99"] * 1000, 2) if r["p99"] is not None else None,
            "non_2xx": r["non_2xx"], "socket_errors": r["socket_errors"],
            "server_cpu_s": round(cpu, 2) if cpu is not None else None,
            "server_cpu_ms_per_request": round(cpu * 1000 / n, 3) if cpu is not None and n else None,
            "server_cores_busy": round(cpu / r["seconds"], 2) if cpu is not None and r["seconds"] else None,
            "machine_cores_busy": round(machine / r["seconds"], 2) if r["seconds"] else None}


def table(rows: list[dict]) -> str:
    head = ("| endpoint | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU ms/req "
            "| server cores busy | machine cores busy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    fmt = "| {endpoint} | {connections} | {rps:.0f} | {p50_ms} | {p99_ms} | {non_2xx} | {socket_errors} " \
          "| {server_cpu_ms_per_request} | {server_cores_busy} | {machine_cores_busy} |"
    return "\n".join([head] + [fmt.format(**{k: ("n/a" if v is None else v) for k, v in row.items()})
                               for row in rows])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "10")),
                   help="seconds per measurement (BENCH_DURATION, default 10)")
    p.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", "2")),
                   help="unrecorded seconds before each measurement (BENCH_WARMUP, default 2)")
    p.add_argument("--connections", default=os.environ.get("BENCH_CONNECTIONS", "16,64"),
                   help="comma-separated concurrent connections (BENCH_CONNECTIONS, default 16,64)")
    p.add_argument("--tool", choices=["auto", "wrk", "asyncio"], default=os.environ.get("BENCH_TOOL", "auto"))
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--cold-starts", type=int, default=int(os.environ.get("BENCH_COLD_STARTS", "3")),
                   help="timed starts of `serve all --dev` with an existing data directory (BENCH_COLD_STARTS, "
                   "default 3; 0 skips)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and wrk.available()) else "asyncio"
    if tool == "wrk" and not wrk.available():
        raise SystemExit(f"wrk is not installed: {wrk.INSTALL_HINT}")
    if tool == "asyncio":
        print(f"load generator: built-in asyncio client ({wrk.INSTALL_HINT})", file=sys.stderr)
    public = os.environ.get("HYDRALITE_PUBLIC_URL", "http://127.0.0.1:4444").rstrip("/")
    admin = os.environ.get("HYDRALITE_ADMIN_URL", "http://127.0.0.1:4445").rstrip("/")
    t = targets.Target(public, admin)
    if not (targets.alive(public) and targets.alive(admin)):
        workers = footprint.workers_setting()
        print(f"no server at {public} / {admin}: starting one (DSN=memory, {workers} worker(s))", file=sys.stderr)
        t = targets.start(workers)
    try:
        t.pids = sorted(set(targets.server_pids(t.public_url)) | set(targets.server_pids(t.admin_url)))
        setup = prepare(t)
        rows = []
        for name, url, body, headers in setup["scenarios"]:
            for conns in (int(c) for c in args.connections.split(",") if c.strip()):
                if args.warmup > 0:
                    measure(tool, url, body, headers, conns, args.warmup, [])
                row = {"endpoint": name, **measure(tool, url, body, headers, conns, args.duration, t.pids)}
                print(f"  {name} c={conns}: {row['rps']:.0f} req/s", file=sys.stderr)
                rows.append(row)
        memory = footprint.server_memory(t.pids)  # right after the last load
        for client_id in setup["client_ids"]:
            _call("DELETE", f"{t.admin_url}/admin/clients/{quote(client_id, safe='')}")
    finally:
        targets.stop(t)
    start = footprint.cold_start(targets._executable(), args.cold_starts) if args.cold_starts > 0 else None
    report = {"timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "tool": tool,
              "duration_s": args.duration, "public_url": t.public_url, "admin_url": t.admin_url,
              "started_server": t.started_here,
              "workers": footprint.workers_setting() if t.started_here else None,
              "server_processes": len(t.pids), "cpus": os.cpu_count(), "results": rows,
              "memory": memory, "cold_start": start}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    print(footprint.report(memory, start))
    print(f"\n{tool}, {args.duration:g} s per row, {len(t.pids)} server process(es) measured; "
          f"written to {args.output}")


if __name__ == "__main__":
    main()
