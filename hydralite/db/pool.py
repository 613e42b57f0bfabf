"""One asyncpg pool, configured from a DSN written for Hydra.

Hydra's DSN options (max_conns, max_idle_conns, max_conn_lifetime, …) size the pool
and are removed from the DSN: asyncpg would otherwise send unknown query options to
PostgreSQL as session settings and the connection would fail.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson

from hydralite.config import parse_duration

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    #: A connection of our own (CLI, migrations) or one lent by the pool: both answer the same queries.
    Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy

#: Options Hydra (pop/ory x/sqlcon) reads from the DSN; they never reach PostgreSQL.
_HYDRA_OPTIONS = {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time", "connect_timeout",
                  "timeout", "network_timeout", "statement_timeout", "application_name"}
#: libpq options asyncpg understands itself.
_LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword", "ssl_min_protocol_version",
                  "ssl_max_protocol_version", "host", "port", "user", "password", "dbname", "passfile",
                  "target_session_attrs", "krbsrvname", "gsslib"}

DEFAULT_MAX_SIZE = 20
ACQUIRE_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0


@dataclass(frozen=True)
class PoolSettings:
    dsn: str
    min_size: int = 2
    max_size: int = DEFAULT_MAX_SIZE
    max_inactive_lifetime: float = 300.0
    connect_timeout: float = 5.0
    application_name: str = "hydralite"


def parse_dsn(dsn: str) -> PoolSettings:
    """Turn a Hydra DSN into a clean asyncpg DSN plus pool settings."""
    parts = urlsplit(dsn)
    scheme = parts.scheme
    if scheme in ("postgres", "cockroach", "cockroachdb", "postgresql"):
        scheme = "postgresql"
    else:
        raise ValueError(f"unsupported DSN scheme {parts.scheme!r}: use postgres:// (or DSN=memory)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept: list[tuple[str, str]] = []
    opts: dict[str, str] = {}
    for key, value in query:
        if key in _HYDRA_OPTIONS:
            opts[key] = value
        elif key in _LIBPQ_OPTIONS:
            kept.append((key, value))
        # Anything else (e.g. Hydra's `search_path` handled by pop) is dropped rather than sent to the server.
    try:
        max_size = int(opts.get("max_conns") or DEFAULT_MAX_SIZE)
        min_size = min(int(opts.get("max_idle_conns") or 2), max_size)
        lifetime = opts.get("max_conn_idle_time") or opts.get("max_conn_lifetime")
        return PoolSettings(
            dsn=urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), "")),
            min_size=max(min_size, 1),
            max_size=max(max_size, 1),
            max_inactive_lifetime=parse_duration(lifetime) if lifetime else 300.0,
            connect_timeout=parse_duration(opts["connect_timeout"] + "s") if opts.get("connect_timeout") else 5.0,
            application_name=opts.get("application_name", "hydralite"),
        )
    except ValueError as exc:
        raise ValueError(f"invalid DSN option ({', '.join(sorted(opts))}): {exc}") from None


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
                              schema="pg_catalog")


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Our connections never change session state, so skip asyncpg's reset query (doubles write throughput)."""


async def create_pool(dsn: str, *, max_size: int = 0, warm: bool = False) -> asyncpg.Pool:
    """The pool; `warm` (the server) opens all of it at start instead of max_idle_conns, so the first burst
    of requests after a start does not wait for connections (backend start, codec look-up) one by one. Those
    above max_idle_conns close after max_conn_idle_time unused. A database with no room for them now: the
    pool starts with max_idle_conns and grows on demand, as without `warm`."""
    settings = parse_dsn(dsn)
    size = max_size or settings.max_size
    min_size = min(settings.min_size, size)
    options: dict[str, Any] = {
        "max_size": size, "max_inactive_connection_lifetime": settings.max_inactive_lifetime,
        "init": _init_connection, "reset": _no_reset, "timeout": settings.connect_timeout,
        "command_timeout": COMMAND_TIMEOUT, "server_settings": {"application_name": settings.application_name}}
    if warm and size > min_size:
        with contextlib.suppress(asyncpg.exceptions.TooManyConnectionsError):
            return await asyncpg.create_pool(settings.dsn, min_size=min_size, init_size=size, **options)
    return await asyncpg.create_pool(settings.dsn, min_size=min_size, **options)
