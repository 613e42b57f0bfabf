"""Output as Hydra's CLI prints it: a table by default, exact JSON with --format json."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

FORMATS = ("table", "json", "json-pretty", "yaml")


def add_format_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the essential value (e.g. the id)")


def _cell(value: Any) -> str:
    if isinstance(value, bool):  # Go's %v: true/false, as Hydra's tables print them
        return "true" if value else "false"
    if value is None or value == "" or value == []:
        return "<empty>"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(header)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("\t".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def emit(args: argparse.Namespace, data: Any, header: Sequence[str], rows: Callable[[Any], list[list[Any]]],
         quiet: Callable[[Any], str] | None = None) -> None:
    """Print `data` in the chosen format; `rows` turns it into table rows, `quiet` into the one value."""
    fmt = getattr(args, "format", "table")
    if getattr(args, "quiet", False) and quiet is not None:
        print(quiet(data))
    elif fmt == "json":
        print(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    elif fmt == "json-pretty":
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "yaml":
        try:
            import yaml
        except ImportError:  # pragma: no cover - PyYAML ships with the test extras
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())
    else:
        print(table(header, rows(data)))
