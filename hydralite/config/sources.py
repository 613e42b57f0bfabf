"""Configuration sources in Hydra's order: defaults, then files (`-c`, later files win), then the environment.

A file is checked against Hydra's own JSON schema (copied into schema/, Apache-2.0 as Hydra and ory/x),
then flattened to Hydra's environment names (`serve.public.port` → `SERVE_PUBLIC_PORT`, lists stay lists)
so that environment.py parses and validates every value in one place whichever source it came from.
PyYAML and jsonschema are imported only when a file is given: none of this runs on the serve hot path.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hydralite.config.environment import HYDRA_KEYS, env_name
from hydralite.config.model import ConfigError

log = logging.getLogger("hydralite.config")

SCHEMA_DIR = Path(__file__).parent / "schema"
#: Where Hydra's schema points ($ref) → the copy in schema/.
_SCHEMAS = {
    "https://github.com/ory/hydra/spec/config.json": "hydra.schema.json",
    "ory://serve-config": "serve.schema.json",
    "ory://cors-config": "cors.schema.json",
    "ory://tls-config": "tls.schema.json",
    "https://raw.githubusercontent.com/ory/hydra/011a01ce/oryx/otelx/config.schema.json": "otelx.schema.json",
}
_ROOT = "https://github.com/ory/hydra/spec/config.json"
_DURATION_PATTERN = r"^(\d+(ns|us|ms|s|m|h))+$"
#: Keys that carry no behaviour: the Hydra version a file was written for, and telemetry (hydralite sends none).
_SILENT = ("version", "sqa")
_SUPPORTED = frozenset(HYDRA_KEYS)

Value = str | list[str]


@dataclass
class Layered:
    """The merged values by environment name, and for those that came from a file, "key in file"."""

    values: dict[str, Value] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)  # key → file, Hydra keys hydralite ignores


def merge(files: Sequence[str], env: Mapping[str, str]) -> Layered:
    """Read every file in order (later wins), then let non-empty environment variables override them."""
    layered = Layered()
    for path in files:
        for key, value in flatten(read(path)).items():
            if key.split(".")[0] in _SILENT:
                continue
            if key not in _SUPPORTED:
                layered.unsupported[key] = path
                continue
            name = env_name(key)
            layered.values[name] = _as_env(value)
            layered.origin[name] = f"{key} in {path}"
    for name, raw in env.items():
        # An empty variable does not hide a file's value (compose files often carry `NAME=`).
        if raw.strip() or name not in layered.values:
            layered.values[name] = raw
            layered.origin.pop(name, None)
    return layered


def unsupported_notice(layered: Layered) -> str | None:
    """The warning for Hydra keys hydralite accepts but does not implement yet (None if there are none)."""
    if not layered.unsupported:
        return None
    files = ", ".join(dict.fromkeys(layered.unsupported.values()))
    return (f"configuration keys of Hydra features hydralite does not support yet are ignored: "
            f"{', '.join(layered.unsupported)} (in {files})")


def report_unsupported(layered: Layered) -> None:
    """Log that warning now, for commands that keep the CLI's plain log format (migrate, janitor, serve ui)."""
    notice = unsupported_notice(layered)
    if notice:
        log.warning("%s", notice)


def read(path: str) -> dict[str, Any]:
    """Parse one file by its extension and check it against Hydra's schema; one-line ConfigError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".yml", ".yaml", ".json", ".toml"):
        raise ConfigError(f"invalid configuration: {path}: unknown file type {suffix or '(none)'!r}, "
                          "use .yaml, .yml, .json or .toml")
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"invalid configuration: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = _parse(text, suffix, path)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {path} is not valid {_KIND[suffix]}: {_one_line(exc)}") from exc
    if data is None:
        data = {}  # an empty YAML file
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration: {path}: the top level must be a mapping of Hydra's keys")
    unknown = [key for key in flatten(data) if not known(key)]
    if unknown:
        what = "not a Hydra configuration key" if len(unknown) == 1 else "not Hydra configuration keys"
        raise ConfigError(f"invalid configuration: {', '.join(unknown)} in {path}: {what}")
    problems = [f"{key} in {path}: {message}" for key, message in _schema_problems(data)]
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return data


_KIND = {".yml": "YAML", ".yaml": "YAML", ".json": "JSON", ".toml": "TOML"}


def _parse(text: bytes, suffix: str, path: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(str(exc)) from exc
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(str(exc)) from exc
    import yaml

    stream = io.BytesIO(text)
    stream.name = path  # PyYAML names the file in its error marks
    try:
        return yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from exc


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def flatten(data: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted key; lists and empty mappings are leaves."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _as_env(value: Any) -> Value:
    """A schema-checked file value as the environment would spell it (lists stay lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def known(key: str) -> bool:
    """True if Hydra's schema defines this dotted key (or it lies inside a free-form map Hydra allows)."""
    registry = _registry()
    resolver = registry.resolver(base_uri=_ROOT)
    return _known(registry.contents(_ROOT), resolver, key.split("."))


def _known(schema: Any, resolver: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    alternatives = list(_expand(schema, resolver))
    if not any("properties" in s for s, _ in alternatives):
        # Not an object of named keys: a free-form map, or a scalar whose wrong type the schema check reports.
        return not any(s.get("additionalProperties") is False for s, _ in alternatives)
    for sub, res in alternatives:
        if parts[0] in sub.get("properties", {}) and _known(sub["properties"][parts[0]], res, parts[1:]):
            return True
        extra = sub.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            return True  # e.g. feature_flags, sqa: Hydra accepts any key there
    # Hydra's serve.public/admin (ory/x serve-config) do not forbid other keys; hydralite refuses them as typos.
    return False


def _expand(schema: Any, resolver: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """The schema itself and every subschema it combines ($ref, allOf, anyOf, oneOf), refs resolved."""
    if not isinstance(schema, dict):
        return
    yield schema, resolver
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        yield from _expand(resolved.contents, resolved.resolver)
    for combinator in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(combinator, ()):
            yield from _expand(sub, resolver)


def _schema_problems(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every type, range and enum violation as (key, message), by Hydra's schema."""
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

    validator = Draft7Validator(_registry().contents(_ROOT), registry=_registry())
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        detail = best_match(error.context) if error.context else error
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        yield key, _message(detail)


def _message(error: Any) -> str:
    if error.validator == "pattern" and error.validator_value == _DURATION_PATTERN:
        return f"{error.instance!r} is not a duration such as 1h, 30m or 1h30m0s"
    return " ".join(error.message.split())


@cache
def _registry() -> Any:
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    registry = Registry()
    for uri, name in _SCHEMAS.items():
        resource = DRAFT7.create_resource(json.loads((SCHEMA_DIR / name).read_text()))
        # Under the URI Hydra's $ref uses, and under the schema's own $id for its internal refs.
        registry = registry.with_resource(uri, resource)
        if resource.id():
            registry = registry.with_resource(resource.id(), resource)
    return registry
