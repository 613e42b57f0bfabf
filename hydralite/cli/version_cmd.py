"""`hydralite version`."""

from __future__ import annotations

import argparse

from hydralite import HYDRA_VERSION, __version__


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("version", help="show the version")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"Version:    {__version__} (Hydra API {HYDRA_VERSION})")
    return 0
