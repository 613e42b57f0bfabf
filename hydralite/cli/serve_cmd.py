"""`hydralite serve all|public|admin|ui [--dev] [--workers N|auto]` (`ui`: the example login/consent app).

Without --dev, `serve` runs one worker per available CPU (config/workers.py); --dev keeps one process.
"""

from __future__ import annotations

import argparse

from hydralite import config as configuration
from hydralite.config.workers import parse_workers


def _workers(text: str) -> int:
    try:
        return parse_workers(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the public and/or admin HTTP APIs")
    p.add_argument("which", choices=["all", "public", "admin", "ui"])
    p.add_argument("--dev", action="store_true", help="development mode (http issuer, generated secret, …)")
    p.add_argument("--workers", type=_workers, default=None, metavar="N|auto",
                   help="worker processes: a number, or auto for one per available CPU (default: HYDRALITE_WORKERS, "
                   "else auto, or 1 with --dev)")
    p.add_argument("-c", "--config", action="append", default=[], metavar="FILE",
                   help="configuration file (YAML, JSON or TOML with Hydra's keys); repeatable, later files win; "
                   "environment variables override files")
    p.add_argument("--sqa-opt-out", action="store_true", help="accepted for Hydra compatibility")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hydralite import server

    if args.which == "ui":
        import os

        from hydralite.ui import run as ui

        ui.run(configuration.load_values(args.config, os.environ))  # type: ignore[arg-type]
        return 0
    cfg = configuration.load(dev=True if args.dev else None, files=args.config)
    server.serve(cfg, args.which, workers=cfg.workers if args.workers is None else args.workers)
    return 0
