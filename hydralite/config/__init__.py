"""Configuration: one frozen Config built once from defaults, then files (`-c`), then the environment.

Every key, environment name and default follows Hydra (REFERENCE.md §9), so that configuration files,
compose files and guides written for Hydra configure hydralite unchanged. The rest of the code receives
the Config and never asks where a value came from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

from hydralite.config.environment import HYDRA_KEYS, env_name, from_env
from hydralite.config.model import (
    Config,
    ConfigError,
    format_duration,
    parse_bool,
    parse_duration,
    parse_list,
)

__all__ = ["HYDRA_KEYS", "Config", "ConfigError", "env_name", "format_duration", "load", "load_values",
           "parse_bool", "parse_duration", "parse_list"]


def load_values(files: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Mapping[str, str | list[str]]:
    """Hydra's names → values from the files then the environment, for commands that need a few of them
    (migrate, janitor) without a whole server Config. Files are checked as for `serve`."""
    env = os.environ if env is None else env
    if not files:
        return env
    from hydralite.config import sources

    layered = sources.merge(files, env)
    sources.report_unsupported(layered)
    return layered.values


def load(env: Mapping[str, str] | None = None, *, dev: bool | None = None, files: Sequence[str] = ()) -> Config:
    """Build the Config; raise ConfigError naming every problem (and the key and file of a file's value)."""
    env = os.environ if env is None else env
    if not files:
        return from_env(env, dev=dev)
    from hydralite.config import sources

    layered = sources.merge(files, env)
    config = from_env(layered.values, dev=dev, origin=layered.origin)
    # Not logged here: logging is not set up yet; ops/logs.setup() writes it in the configured format.
    notice = sources.unsupported_notice(layered)
    return dataclasses.replace(config, notices=(*config.notices, notice)) if notice else config
