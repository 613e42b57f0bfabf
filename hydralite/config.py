"""Configuration: one frozen object built once from Hydra's environment names.

Every name and default follows Hydra (REFERENCE.md §9) so that compose files and
guides written for Hydra configure hydralite unchanged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """Raised at start with every configuration problem listed."""


def parse_duration(text: str) -> float:
    """Parse a Go duration string ("1h", "30m", "1h0m0s") into seconds."""
    text = text.strip()
    if text in ("0", "-1"):
        return float(text)
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))


def format_duration(seconds: float) -> str:
    """Format seconds as Go prints a time.Duration ("1h0m0s", "30m0s", "1.5s", "100ms", "1.5µs")."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if ns < size * 1000:
                return sign + _fraction(ns, size) + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    sec = _fraction(rest, 1_000_000_000) + "s"
    if h:
        return f"{sign}{h}h{m}m{sec}"
    if m:
        return f"{sign}{m}m{sec}"
    return sign + sec


def _fraction(value: int, size: int) -> str:
    whole, part = divmod(value, size)
    if not part:
        return str(whole)
    return f"{whole}." + str(part).rjust(len(str(size)) - 1, "0").rstrip("0")


def parse_list(text: str) -> list[str]:
    """Hydra reads arrays from the environment as a JSON array or a comma-separated list."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        value = orjson.loads(text)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a JSON array of strings")
        return value
    return [part.strip() for part in text.split(",") if part.strip()]


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Config:
    dsn: str = ""
    dev: bool = False
    secrets_system: tuple[str, ...] = ()
    secrets_cookie: tuple[str, ...] = ()
    secrets_pagination: tuple[str, ...] = ()
    public_host: str = ""
    public_port: int = 4444
    admin_host: str = ""
    admin_port: int = 4445
    issuer: str = ""
    public_url: str = ""
    admin_url: str = ""
    login_url: str = ""
    consent_url: str = ""
    logout_url: str = ""
    error_url: str = ""
    post_logout_redirect_url: str = ""
    ttl_access_token: float = 3600.0
    ttl_refresh_token: float = 720 * 3600.0
    ttl_id_token: float = 3600.0
    ttl_auth_code: float = 600.0
    ttl_login_consent_request: float = 1800.0
    ttl_authentication_session: float = 720 * 3600.0
    scope_strategy: str = "wildcard"
    access_token_strategy: str = "opaque"
    pkce_enforced: bool = False
    pkce_enforced_for_public_clients: bool = False
    expose_internal_errors: bool = False
    default_grant_allowed_scope: bool = False
    default_client_scope: tuple[str, ...] = ("offline_access", "offline", "openid")
    cookie_same_site: str = "None"
    cookie_secure: bool = False
    cookie_domain: str = ""
    session_cookie_path: str = "/"
    data_dir: str = ".hydralite"
    log_level: str = "info"
    log_format: str = "text"  # text | json | json_pretty (log.format)
    log_leak_sensitive_values: bool = False
    log_redaction_text: str = ""
    tracing_provider: str = ""  # "" (off) | otel (tracing.provider)
    tracing_service_name: str = "hydralite"
    tracing_otlp_server_url: str = ""  # host:port of an OTLP/HTTP receiver (tracing.providers.otlp.server_url)
    tracing_otlp_insecure: bool = False
    tracing_sampling_ratio: float = 1.0
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19 * 1024
    argon2_parallelism: int = 1
    argon2_threads: int = 2
    workers: int = 1
    pool_max_size: int = 0  # 0: taken from the DSN or the default
    ui_port: int = 3000
    #: `serve all --dev` with no URLS_LOGIN/CONSENT/LOGOUT runs the example login/consent app itself.
    embedded_ui: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when hydralite must start its own PostgreSQL (DSN unset or "memory")."""
        return self.dsn in ("", "memory")

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.dev else True

    def cookie_name(self, base: str) -> str:
        return f"{base}_dev" if self.dev else base


_TTL_NAMES = {
    "TTL_ACCESS_TOKEN": "ttl_access_token",
    "TTL_REFRESH_TOKEN": "ttl_refresh_token",
    "TTL_ID_TOKEN": "ttl_id_token",
    "TTL_AUTH_CODE": "ttl_auth_code",
    "TTL_LOGIN_CONSENT_REQUEST": "ttl_login_consent_request",
    "TTL_AUTHENTICATION_SESSION": "ttl_authentication_session",
}


def load(env: Mapping[str, str] | None = None, *, dev: bool | None = None) -> Config:
    """Build the Config from the environment; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    values: dict[str, object] = {}

    is_dev = _bool(env.get("DEV", "")) if dev is None else dev
    values["dev"] = is_dev
    values["dsn"] = env.get("DSN", "").strip()

    for name, attr in (("SECRETS_SYSTEM", "secrets_system"), ("SECRETS_COOKIE", "secrets_cookie"),
                       ("SECRETS_PAGINATION", "secrets_pagination")):
        raw = env.get(name, "")
        try:
            secrets = tuple(parse_list(raw))
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        short = [i for i, s in enumerate(secrets) if len(s) < 16]
        if short:
            problems.append(f"{name}: every secret must be at least 16 characters long (entry {short[0] + 1})")
        values[attr] = secrets

    for name, attr, default in (("SERVE_PUBLIC_PORT", "public_port", 4444), ("SERVE_ADMIN_PORT", "admin_port", 4445),
                                ("HYDRALITE_UI_PORT", "ui_port", 3000), ("HYDRALITE_WORKERS", "workers", 1)):
        raw = env.get(name, "")
        try:
            values[attr] = int(raw) if raw.strip() else default
        except ValueError:
            problems.append(f"{name}: expected an integer, got {raw!r}")
            continue
        low, high = (1, 1024) if attr == "workers" else (0, 65535)
        if not low <= values[attr] <= high:  # type: ignore[operator]
            problems.append(f"{name}: must be between {low} and {high}, got {raw!r}")
    values["public_host"] = env.get("SERVE_PUBLIC_HOST", "")
    values["admin_host"] = env.get("SERVE_ADMIN_HOST", "")

    for name, attr in _TTL_NAMES.items():
        raw = env.get(name, "")
        if raw.strip():
            try:
                ttl = parse_duration(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            # Only refresh tokens may live forever (-1, as Hydra); a zero TTL would mint dead tokens.
            if ttl <= 0 and not (name == "TTL_REFRESH_TOKEN" and ttl == -1):
                problems.append(f"{name}: must be a positive duration" +
                                (" (or -1 for never)" if name == "TTL_REFRESH_TOKEN" else ""))
                continue
            values[attr] = ttl

    strategy = env.get("STRATEGIES_SCOPE", "wildcard").strip().lower() or "wildcard"
    if strategy not in ("wildcard", "exact"):
        problems.append(f"STRATEGIES_SCOPE: must be 'wildcard' or 'exact', got {strategy!r}")
    values["scope_strategy"] = strategy
    at_strategy = env.get("STRATEGIES_ACCESS_TOKEN", "opaque").strip().lower() or "opaque"
    if at_strategy != "opaque":
        problems.append("STRATEGIES_ACCESS_TOKEN: only 'opaque' is supported (JWT access tokens are not yet built)")
    values["access_token_strategy"] = at_strategy

    values["pkce_enforced"] = _bool(env.get("OAUTH2_PKCE_ENFORCED", ""))
    values["pkce_enforced_for_public_clients"] = _bool(env.get("OAUTH2_PKCE_ENFORCED_FOR_PUBLIC_CLIENTS", ""))
    values["expose_internal_errors"] = _bool(env.get("OAUTH2_EXPOSE_INTERNAL_ERRORS", ""))
    values["default_grant_allowed_scope"] = _bool(
        env.get("OAUTH2_CLIENT_CREDENTIALS_DEFAULT_GRANT_ALLOWED_SCOPE", ""))
    raw_scope = env.get("OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE", "")
    if raw_scope.strip():
        try:
            values["default_client_scope"] = tuple(parse_list(raw_scope))
        except ValueError as exc:
            problems.append(f"OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE: {exc}")

    same_site = env.get("SERVE_COOKIES_SAME_SITE_MODE", "None").strip() or "None"
    if same_site not in ("Strict", "Lax", "None"):
        problems.append(f"SERVE_COOKIES_SAME_SITE_MODE: must be Strict, Lax or None, got {same_site!r}")
    values["cookie_same_site"] = same_site
    values["cookie_secure"] = _bool(env.get("SERVE_COOKIES_SECURE", ""))
    values["cookie_domain"] = env.get("SERVE_COOKIES_DOMAIN", "")
    values["session_cookie_path"] = env.get("SERVE_COOKIES_PATHS_SESSION", "/") or "/"

    values["data_dir"] = env.get("HYDRALITE_DATA_DIR", "") or str(Path.cwd() / ".hydralite")
    values["log_level"] = env.get("LOG_LEVEL", "info").lower() or "info"
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json", "json_pretty"):
        problems.append(f"LOG_FORMAT: must be text, json or json_pretty, got {log_format!r}")
    values["log_format"] = log_format
    values["log_leak_sensitive_values"] = _bool(env.get("LOG_LEAK_SENSITIVE_VALUES", ""))
    values["log_redaction_text"] = env.get("LOG_REDACTION_TEXT", "")
    provider = env.get("TRACING_PROVIDER", "").strip().lower()
    if provider not in ("", "otel"):
        problems.append(f"TRACING_PROVIDER: only 'otel' is supported, got {provider!r}")
    values["tracing_provider"] = provider
    values["tracing_service_name"] = env.get("TRACING_SERVICE_NAME", "").strip() or "hydralite"
    values["tracing_otlp_server_url"] = env.get("TRACING_PROVIDERS_OTLP_SERVER_URL", "").strip()
    values["tracing_otlp_insecure"] = _bool(env.get("TRACING_PROVIDERS_OTLP_INSECURE", ""))
    raw_ratio = env.get("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "").strip()
    if raw_ratio:
        try:
            ratio = float(raw_ratio)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            problems.append(f"TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO: must be between 0 and 1, "
                            f"got {raw_ratio!r}")
        else:
            values["tracing_sampling_ratio"] = ratio

    public_port = values.get("public_port", 4444)
    admin_port = values.get("admin_port", 4445)
    issuer = env.get("URLS_SELF_ISSUER", "").strip()
    if not issuer:
        if is_dev:
            issuer = f"http://localhost:{public_port}/"
        else:
            problems.append("URLS_SELF_ISSUER: must be set (or run with --dev)")
    elif not is_dev and not issuer.startswith("https://"):
        problems.append("URLS_SELF_ISSUER: must use https unless --dev is set")
    values["issuer"] = issuer
    public = (env.get("URLS_SELF_PUBLIC", "").strip() or issuer).rstrip("/")
    values["public_url"] = public
    values["admin_url"] = (env.get("URLS_SELF_ADMIN", "").strip() or f"http://localhost:{admin_port}").rstrip("/")
    ui_names = ("URLS_LOGIN", "URLS_CONSENT", "URLS_LOGOUT")
    fallback = public + "/oauth2/fallbacks"
    if is_dev and not any(env.get(n, "").strip() for n in ui_names) and not _bool(env.get("HYDRALITE_NO_UI", "")):
        values["embedded_ui"] = True
        fallback = f"http://localhost:{values.get('ui_port', 3000)}"
    values["login_url"] = env.get("URLS_LOGIN", "").strip() or f"{fallback}/login"
    values["consent_url"] = env.get("URLS_CONSENT", "").strip() or f"{fallback}/consent"
    values["logout_url"] = env.get("URLS_LOGOUT", "").strip() or f"{fallback}/logout"
    values["error_url"] = env.get("URLS_ERROR", "").strip() or f"{public}/oauth2/fallbacks/error"
    values["post_logout_redirect_url"] = (env.get("URLS_POST_LOGOUT_REDIRECT", "").strip()
                                          or f"{public}/oauth2/fallbacks/logout/callback")

    for name, attr in (("HYDRALITE_ARGON2_TIME_COST", "argon2_time_cost"),
                       ("HYDRALITE_ARGON2_MEMORY_KIB", "argon2_memory_kib"),
                       ("HYDRALITE_ARGON2_THREADS", "argon2_threads")):
        raw = env.get(name, "")
        if raw.strip():
            try:
                values[attr] = int(raw)
            except ValueError:
                problems.append(f"{name}: expected an integer, got {raw!r}")

    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
    values["extra"] = {k: v for k, v in env.items() if k.startswith("URLS_")}
    return Config(**values)  # type: ignore[arg-type]
