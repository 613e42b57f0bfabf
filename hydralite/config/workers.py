"""How many server processes `serve` runs: `auto` (one per available CPU) unless told otherwise.

A Go server like Hydra uses every core by default; one Python process uses one. So `serve` without `--dev`
forks one worker per CPU it may run on, while `--dev` (and `make run`) keep a single process that is easy
to debug. `HYDRALITE_WORKERS` and `serve --workers` take a count or `auto`; the command line wins.
"""

from __future__ import annotations

import os

AUTO = "auto"
MAX_WORKERS = 1024


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, as a container's cpuset limits it), else all of them."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # not Linux
        return max(os.cpu_count() or 1, 1)


def parse_workers(text: str) -> int:
    """A worker count from `N` or `auto`; ValueError names what is wrong."""
    value = text.strip().lower()
    if value == AUTO:
        return available_cpus()
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"expected a number of workers or 'auto', got {text!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"must be between 1 and {MAX_WORKERS} (or 'auto'), got {text!r}")
    return count


def default_workers(setting: str, *, dev: bool) -> int:
    """HYDRALITE_WORKERS when set, else one worker under --dev and one per CPU otherwise."""
    if setting.strip():
        return parse_workers(setting)
    return 1 if dev else available_cpus()
