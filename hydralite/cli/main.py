"""Entry point: builds the argument parser from the command modules and runs one command.

Errors are one line on stderr and a non-zero exit status; --verbose shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hydralite.cli import (
    CommandError,
    authcode_cmd,
    client_cmds,
    device_cmd,
    janitor_cmd,
    jwk_cmds,
    legacy_cmds,
    migrate_cmd,
    serve_cmd,
    token_cmds,
    version_cmd,
)
from hydralite.config import ConfigError

COMMANDS = (serve_cmd, migrate_cmd, client_cmds, jwk_cmds, token_cmds, authcode_cmd, janitor_cmd, legacy_cmds,
            version_cmd, device_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hydralite", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines would print URLs with tokens
    try:
        code = args.func(args)
    except (ConfigError, CommandError) as exc:
        if args.verbose:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if args.verbose:
            raise
        print(f"Error: {type(exc).__name__}: {exc} (run with --verbose for details)", file=sys.stderr)
        sys.exit(1)
    sys.exit(code or 0)
