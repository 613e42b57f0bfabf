"""`hydralite migrate sql up|status [DSN] [-e] [-c FILE] [--yes]` with Hydra's flags."""

from __future__ import annotations

import argparse
import asyncio

from hydralite.config import ConfigError, load_values

CONFIG_HELP = "configuration file (YAML, JSON or TOML with Hydra's keys, e.g. dsn); repeatable, later files win"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="apply or show SQL migrations")
    msub = p.add_subparsers(dest="target", metavar="sql")
    msub.required = True
    sql = msub.add_parser("sql", help="SQL migrations")
    actions = sql.add_subparsers(dest="action", metavar="ACTION")
    for name, help_text in (("up", "apply all pending migrations"), ("status", "show applied and pending")):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("dsn", nargs="?", help="database URL (or use -e to read DSN from the environment)")
        a.add_argument("-e", "--read-from-env", action="store_true", help="read the DSN from $DSN")
        a.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
        a.add_argument("--block", action="store_true", help="accepted for Hydra compatibility")
        a.add_argument("-c", "--config", action="append", default=[], metavar="FILE", help=CONFIG_HELP)
        a.set_defaults(func=run)
    # `hydralite migrate sql [dsn]` is Hydra's deprecated alias of `up`.
    sql.add_argument("-e", "--read-from-env", action="store_true", dest="read_from_env_alias")
    sql.add_argument("-y", "--yes", action="store_true", dest="yes_alias")
    sql.add_argument("-c", "--config", action="append", default=[], metavar="FILE", dest="config_alias",
                     help=CONFIG_HELP)
    sql.set_defaults(func=run, action="up", dsn=None)


def _dsn(args: argparse.Namespace) -> str:
    """As Hydra: the argument, else $DSN, else `dsn` from the configuration files."""
    files = [*getattr(args, "config_alias", []), *getattr(args, "config", [])]
    # Files are read (and checked) even when the argument names the DSN, so a broken file is never ignored.
    values = load_values(files)
    dsn = args.dsn or values.get("DSN", "")
    if not isinstance(dsn, str) or not dsn or dsn == "memory":
        raise ConfigError("a PostgreSQL DSN is required: pass it as an argument, set DSN and use -e, or set dsn "
                          "in a -c file (the embedded database migrates itself when `serve` starts)")
    return dsn


def run(args: argparse.Namespace) -> int:
    from hydralite.db import migrate

    dsn = _dsn(args)
    if args.action == "status":
        rows = asyncio.run(migrate.status_dsn(dsn))
        print(f"{'VERSION':<40} STATUS")
        for version, done in rows:
            print(f"{version:<40} {'Applied' if done else 'Pending'}")
        return 0
    applied = asyncio.run(migrate.up_dsn(dsn))
    if applied:
        for version in applied:
            print(f"Applied migration {version}")
    else:
        print("All migrations are already applied.")
    return 0
