"""oauth2.token_hook, oauth2.refresh_token_hook and serve.{public,admin}.cors.*: parsed from Hydra's environment
names (a configuration file's object arrives flattened: `oauth2.token_hook.url` → OAUTH2_TOKEN_HOOK_URL)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import orjson

from hydralite.config.model import (
    CORS_METHODS,
    CorsConfig,
    HookConfig,
    env_duration,
    parse_bool,
    parse_list,
)

_CORS_FIELDS = ("enabled", "allowed_origins", "allowed_methods", "allowed_headers", "exposed_headers",
                "allow_credentials", "max_age", "options_passthrough", "debug")
_HOOK_FIELDS = ("", ".url", ".auth.type", ".auth.config.in", ".auth.config.name", ".auth.config.value")

#: Every environment name read here, spelled out so that a search for one finds where it is read.
NAMES: tuple[str, ...] = (
    "OAUTH2_TOKEN_HOOK", "OAUTH2_TOKEN_HOOK_URL", "OAUTH2_TOKEN_HOOK_AUTH_TYPE", "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_IN",
    "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME", "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE",
    "OAUTH2_REFRESH_TOKEN_HOOK", "OAUTH2_REFRESH_TOKEN_HOOK_URL", "OAUTH2_REFRESH_TOKEN_HOOK_AUTH_TYPE",
    "OAUTH2_REFRESH_TOKEN_HOOK_AUTH_CONFIG_IN", "OAUTH2_REFRESH_TOKEN_HOOK_AUTH_CONFIG_NAME",
    "OAUTH2_REFRESH_TOKEN_HOOK_AUTH_CONFIG_VALUE",
    "SERVE_PUBLIC_CORS_ENABLED", "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS", "SERVE_PUBLIC_CORS_ALLOWED_METHODS",
    "SERVE_PUBLIC_CORS_ALLOWED_HEADERS", "SERVE_PUBLIC_CORS_EXPOSED_HEADERS", "SERVE_PUBLIC_CORS_ALLOW_CREDENTIALS",
    "SERVE_PUBLIC_CORS_MAX_AGE", "SERVE_PUBLIC_CORS_OPTIONS_PASSTHROUGH", "SERVE_PUBLIC_CORS_DEBUG",
    "SERVE_ADMIN_CORS_ENABLED", "SERVE_ADMIN_CORS_ALLOWED_ORIGINS", "SERVE_ADMIN_CORS_ALLOWED_METHODS",
    "SERVE_ADMIN_CORS_ALLOWED_HEADERS", "SERVE_ADMIN_CORS_EXPOSED_HEADERS", "SERVE_ADMIN_CORS_ALLOW_CREDENTIALS",
    "SERVE_ADMIN_CORS_MAX_AGE", "SERVE_ADMIN_CORS_OPTIONS_PASSTHROUGH", "SERVE_ADMIN_CORS_DEBUG",
)

#: The Hydra keys this module reads (added to environment.HYDRA_KEYS); their names are NAMES.
KEYS: tuple[str, ...] = (
    *(f"oauth2.{hook}{f}" for hook in ("token_hook", "refresh_token_hook") for f in _HOOK_FIELDS),
    *(f"serve.{port}.cors.{f}" for port in ("public", "admin") for f in _CORS_FIELDS),
)
assert tuple(k.upper().replace(".", "_") for k in KEYS) == NAMES  # noqa: S101 (a table kept in step at import)

Lists = Mapping[str, list[str]]


def parse(env: Mapping[str, str], lists: Lists, values: dict[str, object], problems: list[str]) -> None:
    """Fill the hook and CORS fields of `values`; append one line per problem."""
    values["token_hook"] = _hook(env, "OAUTH2_TOKEN_HOOK", problems)
    values["refresh_token_hook"] = _hook(env, "OAUTH2_REFRESH_TOKEN_HOOK", problems)
    timeout = env_duration(env, "HYDRALITE_TOKEN_HOOK_TIMEOUT", problems)
    if timeout is not None:
        if timeout <= 0:
            problems.append("HYDRALITE_TOKEN_HOOK_TIMEOUT: must be a positive duration")
        values["token_hook_timeout"] = timeout
    values["cors_public"] = _cors(env, lists, "SERVE_PUBLIC_CORS_", problems)
    values["cors_admin"] = _cors(env, lists, "SERVE_ADMIN_CORS_", problems)


def _hook(env: Mapping[str, str], name: str, problems: list[str]) -> HookConfig | None:
    """A URL string, or Hydra's object {url, auth: {type: api_key, config: {in, name, value}}} (flattened from a
    file, or as JSON in the one variable)."""
    raw = env.get(name, "").strip()
    fields = {f: env.get(name + f.upper().replace(".", "_"), "") for f in _HOOK_FIELDS[1:]}
    if raw.startswith("{"):
        try:
            obj = orjson.loads(raw)
            auth = obj.get("auth") or {}
            config = auth.get("config") or {}
            given = {".url": obj.get("url"), ".auth.type": auth.get("type"), ".auth.config.in": config.get("in"),
                     ".auth.config.name": config.get("name"), ".auth.config.value": config.get("value")}
            if not all(v is None or isinstance(v, str) for v in given.values()):
                raise ValueError("every value must be a string")
        except (orjson.JSONDecodeError, AttributeError, ValueError) as exc:
            problems.append(f"{name}: expected a URL or a JSON object {{url, auth}}: {exc}")
            return None
        fields = {k: v or "" for k, v in given.items()}
        raw = ""
    url = raw or (fields[".url"] or "").strip()
    auth_type = fields[".auth.type"].strip()
    if not url:
        if auth_type:
            problems.append(f"{name}_URL: must be set when {name}_AUTH_TYPE is")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"{name}: expected an absolute http(s) URL, got {url!r}")
        return None
    if not auth_type:
        return HookConfig(url)
    if auth_type != "api_key":
        problems.append(f"{name}_AUTH_TYPE: only 'api_key' is supported, got {auth_type!r}")
        return None
    where, key = fields[".auth.config.in"].strip(), fields[".auth.config.name"]
    if where not in ("", "header", "cookie"):
        problems.append(f"{name}_AUTH_CONFIG_IN: must be 'header' or 'cookie', got {where!r}")
        return None
    if not key.strip():
        problems.append(f"{name}_AUTH_CONFIG_NAME: must be set for api_key auth")
        return None
    return HookConfig(url, where, key.strip(), fields[".auth.config.value"])


def _cors(env: Mapping[str, str], lists: Lists, prefix: str, problems: list[str]) -> CorsConfig:
    defaults = CorsConfig()
    out: dict[str, object] = {}

    def names(field: str) -> tuple[str, ...] | None:
        name = prefix + field.upper()
        raw: str | list[str] | None = lists.get(name)
        if raw is None:
            raw = env.get(name, "")
            if not raw.strip():
                return None  # unset: Hydra's default
        try:
            return tuple(parse_list(raw))
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            return None

    for field in ("enabled", "allow_credentials", "options_passthrough", "debug"):
        raw = env.get(prefix + field.upper(), "").strip()
        if raw:
            out[field] = parse_bool(raw)
    for field in ("allowed_origins", "allowed_methods", "allowed_headers", "exposed_headers"):
        listed = names(field)
        if listed is not None:
            out[field] = listed
    origins = out.get("allowed_origins", ())
    for origin in origins:  # type: ignore[attr-defined]
        if origin.count("*") > 1:
            problems.append(f"{prefix}ALLOWED_ORIGINS: only one wildcard (*) per origin, got {origin!r}")
    methods = out.get("allowed_methods", ())
    unknown = [m for m in methods if m not in CORS_METHODS]  # type: ignore[attr-defined]
    if unknown:
        problems.append(f"{prefix}ALLOWED_METHODS: {unknown[0]!r} is not one of {', '.join(CORS_METHODS)}")
    raw = env.get(prefix + "MAX_AGE", "").strip()
    if raw:
        if not raw.isdigit():
            problems.append(f"{prefix}MAX_AGE: expected a whole number of seconds (0 or more), got {raw!r}")
        else:
            out["max_age"] = int(raw)
    if not out:
        return defaults
    return CorsConfig(**{**{f: getattr(defaults, f) for f in _CORS_FIELDS}, **out})
