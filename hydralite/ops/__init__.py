"""Operations: metrics, logs (and tracing). A leaf: it imports nothing of hydralite's but config."""

from __future__ import annotations

from hydralite.config import Config
from hydralite.ops import logs, metrics


def setup(config: Config, *, workers: int = 1) -> None:
    """Logs in Hydra's format, then metrics; with several workers this must run before they fork."""
    logs.setup(config)
    metrics.setup(workers=workers)
