"""`hydralite janitor [DSN] [-e]`: delete expired and spent rows in bounded batches, with progress."""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg

from hydralite.cli import CommandError
from hydralite.config import load_values, parse_duration

#: (label, table, key column, condition). $1 = "keep if younger than" cut-off, $2 = login/consent request cut-off.
ROUTINES: dict[str, list[tuple[str, str, str, str]]] = {
    "tokens": [
        ("expired access tokens", "hydralite_access_token", "signature", "expires_at < $1"),
        ("expired or spent refresh tokens", "hydralite_refresh_token", "signature",
         "(expires_at < $1 OR (NOT active AND coalesce(used_at, requested_at) < $1))"),
        ("expired authorization codes", "hydralite_auth_code", "signature", "expires_at < $1"),
        ("expired device codes", "hydralite_device_code", "signature", "expires_at < $1"),
        # Hydra deletes expired jtis on every new one (SetClientAssertionJWT); hydralite leaves that to the janitor.
        ("expired JWT ids", "hydralite_jti", "signature", "expires_at < $1"),
    ],
    "requests": [
        ("stale or rejected login/consent requests", "hydralite_flow", "id",
         "requested_at < $2 AND (status <> 'consent_used' OR (consent->>'error') IS NOT NULL)"),
        ("expired login sessions", "hydralite_login_session", "id", "expires_at < $1"),
        ("stale device requests", "hydralite_device_challenge", "id", "requested_at < $2"),
        ("old device guess counters", "hydralite_device_guess", "client_ip", "window_start < $2"),
    ],
    # Hydra's FlushInactiveGrants: trust relationships (jwt-bearer issuers) past their expires_at.
    "grants": [
        ("expired trust relationships", "hydralite_trust", "id", "expires_at < $1"),
    ],
}


async def clean(dsn: str, routines: list[str], keep: float, request_ttl: float, limit: int, batch: int) -> int:
    from hydralite.db.pool import parse_dsn

    conn = await asyncpg.connect(parse_dsn(dsn).dsn)
    total = 0
    try:
        cutoff = await conn.fetchval("SELECT now() - make_interval(secs => $1)", keep)
        request_cutoff = await conn.fetchval("SELECT now() - make_interval(secs => $1)", max(keep, request_ttl))
        for routine in routines:
            for label, table, key, condition in ROUTINES[routine]:
                if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
                    continue
                # Both cut-offs are typed in every statement, whichever the condition uses.
                sql = (f"WITH doomed AS (SELECT {key} FROM {table} WHERE {condition} "  # noqa: S608
                       "AND $1::timestamptz IS NOT NULL AND $2::timestamptz IS NOT NULL LIMIT $3) "
                       f"DELETE FROM {table} t USING doomed d WHERE t.{key} = d.{key}")
                done = 0
                while done < limit:
                    status = await conn.execute(sql, cutoff, request_cutoff, min(batch, limit - done))
                    deleted = int(status.split()[-1])
                    done += deleted
                    print(f"janitor: {label}: deleted {done}", file=sys.stderr, flush=True)
                    if deleted == 0:
                        break
                total += done
    finally:
        await conn.close()
    return total


def run(args: argparse.Namespace) -> int:
    values = load_values(args.config)  # environment over -c files, as for `serve`
    dsn = args.dsn or values.get("DSN", "")
    if not isinstance(dsn, str) or not dsn or dsn == "memory":
        raise CommandError("janitor needs a PostgreSQL DSN: pass it as an argument, set DSN and use -e, "
                           "or set dsn in a -c file")
    routines = [r for r in ROUTINES if getattr(args, r)] or list(ROUTINES)
    try:
        keep = parse_duration(args.keep_if_younger) if args.keep_if_younger else 0.0
        ttl = parse_duration(args.consent_request_lifespan or str(values.get("TTL_LOGIN_CONSENT_REQUEST") or "30m"))
    except ValueError as exc:
        raise CommandError(f"invalid duration: {exc}") from exc
    if args.limit <= 0 or args.batch_size <= 0:
        raise CommandError("--limit and --batch-size must be positive")
    try:
        total = asyncio.run(clean(dsn, routines, keep, ttl, args.limit, args.batch_size))
    except (OSError, asyncpg.PostgresError) as exc:
        raise CommandError(f"janitor could not clean the database: {type(exc).__name__}: {exc}") from exc
    print(f"Janitor deleted {total} rows.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("janitor", help="delete expired tokens and stale login/consent requests")
    p.add_argument("dsn", nargs="?", help="database URL (or -e to read DSN from the environment)")
    p.add_argument("-e", "--read-from-env", action="store_true")
    p.add_argument("-c", "--config", action="append", default=[], metavar="FILE",
                   help="configuration file (YAML, JSON or TOML with Hydra's keys); repeatable, later files win")
    p.add_argument("--limit", type=int, default=10000, help="at most this many rows per routine (10000)")
    p.add_argument("--batch-size", type=int, default=100, help="rows deleted per statement (100)")
    p.add_argument("--keep-if-younger", default="", help="keep rows younger than this Go duration")
    p.add_argument("--consent-request-lifespan", default="",
                   help="age of a stale login/consent request (default $TTL_LOGIN_CONSENT_REQUEST, else 30m)")
    p.add_argument("--access-lifespan", default="", help="accepted for Hydra compatibility")
    p.add_argument("--refresh-lifespan", default="", help="accepted for Hydra compatibility")
    p.add_argument("--tokens", action="store_true", help="only tokens")
    p.add_argument("--requests", action="store_true", help="only login/consent requests and sessions")
    p.add_argument("--grants", action="store_true", help="only expired trust relationships (jwt-bearer issuers)")
    p.set_defaults(func=run)
