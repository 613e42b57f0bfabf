"""One asyncpg pool, configured from a DSN written for Hydra.

Hydra's DSN options (max_conns, max_idle_conns, max_conn_lifetime, …) size the pool
and are removed from the DSN: asyncpg would otherwise send unknown query options to
PostgreSQL as session settings and the connection would fail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg
import orjson

from hydralite.config import parse_duration
from hydralite.db.connections import Pool

if TYPE_CHECKING:
    #: A connection of our own (CLI, migrations) or one lent by the pool: the same type since db/connections.py.
    Conn: TypeAlias = asyncpg.Connection

#: Options Hydra (pop/ory x/sqlcon) reads from the DSN; they never reach PostgreSQL.
_HYDRA_OPTIONS = {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time", "connect_timeout",
                  "timeout", "network_timeout", "statement_timeout", "application_name"}
#: libpq options asyncpg understands itself.
_LIBPQ_OPTIONS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword", "ssl_min_protocol_version",
                  "ssl_max_protocol_version", "host", "port", "user", "password", "dbname", "passfile",
                  "target_session_attrs", "krbsrvname", "gsslib"}

DEFAULT_MAX_SIZE = 20


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
            dsn=_rebuild(scheme, parts.netloc, parts.path, kept),
            min_size=max(min_size, 1),
            max_size=max(max_size, 1),
            max_inactive_lifetime=parse_duration(lifetime) if lifetime else 300.0,
            connect_timeout=parse_duration(opts["connect_timeout"] + "s") if opts.get("connect_timeout") else 5.0,
            application_name=opts.get("application_name", "hydralite"),
        )
    except ValueError as exc:
        raise ValueError(f"invalid DSN option ({', '.join(sorted(opts))}): {exc}") from None


def _rebuild(scheme: str, netloc: str, path: str, query: list[tuple[str, str]]) -> str:
    """The DSN for asyncpg. A `host` query parameter overrides the URI's host, as in libpq and pgx (Hydra's driver);
    asyncpg would use the URI's host and ignore it, so the URI keeps only its user and the port moves to the query."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport and "," not in hostport and any(key == "host" for key, _ in query):  # several hosts: as written
        port = urlsplit(f"//{hostport}").port
        netloc = userinfo + at
        if port is not None and not any(key == "port" for key, _ in query):
            query = [*query, ("port", str(port))]
    return f"{scheme}://{netloc}{path}" + (f"?{urlencode(query)}" if query else "")


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
                              schema="pg_catalog")


def _then(prepare: Callable[[asyncpg.Connection], Awaitable[None]]) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    async def init(conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        await prepare(conn)

    return init


async def create_pool(dsn: str, *, max_size: int = 0, warm: bool = False,
                      prepare: Callable[[asyncpg.Connection], Awaitable[None]] | None = None) -> Pool:
    """The pool (db/connections.py); `warm` (the server) opens all of it at start instead of max_idle_conns, so the
    first burst of requests after a start does not wait for connections (backend start, codec look-up) one by
    one. Those above max_idle_conns close after max_conn_idle_time unused. A database with no room for them now:
    the pool starts with max_idle_conns and grows on demand, as without `warm`. `prepare` runs on every new
    connection after the codecs are set."""
    settings = parse_dsn(dsn)
    size = max_size or settings.max_size
    min_size = min(settings.min_size, size)
    init = _init_connection if prepare is None else _then(prepare)
    pool = Pool(settings.dsn, min_size=min_size, max_size=size, max_inactive_lifetime=settings.max_inactive_lifetime,
                init=init, connect={"timeout": settings.connect_timeout,
                                    "server_settings": {"application_name": settings.application_name}})
    return await pool.start(size if warm else min_size)
