"""The frozen Config and the value syntaxes Hydra uses (Go durations, lists).

Nothing here knows where a value came from: environment.py reads Hydra's environment names
into a Config, sources.py turns configuration files into those names first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+\Z")
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


def env_duration(env: Mapping[str, str], name: str, problems: list[str]) -> float | None:
    """The duration in `name`, or None when it is unset or blank; an unparsable one becomes a line in `problems`."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_duration(raw)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


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


def parse_list(text: str | list[str]) -> list[str]:
    """Hydra reads arrays from the environment as a JSON array or a comma-separated list.

    A list (from a configuration file, already checked against Hydra's schema) is taken as is.
    """
    if isinstance(text, list):
        if not all(isinstance(v, str) for v in text):
            raise ValueError("expected a list of strings")
        return list(text)
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        value = orjson.loads(text)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a JSON array of strings")
        return value
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_bool(text: str) -> bool:
    """Hydra's environment booleans; anything else is false."""
    return text.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HookConfig:
    """oauth2.token_hook / oauth2.refresh_token_hook: a URL, optionally with Hydra's api_key auth (header or cookie;
    any other `in` sends nothing, as Hydra)."""

    url: str
    auth_in: str = ""
    auth_name: str = ""
    auth_value: str = ""


#: Hydra's CORS defaults (driver/config/serve.go), for serve.public.cors and serve.admin.cors alike.
CORS_METHODS = ("POST", "GET", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD", "OPTIONS", "TRACE")
CORS_HEADERS = ("Accept", "Content-Type", "Content-Length", "Accept-Language", "Content-Language", "Authorization")
CORS_EXPOSED = ("Cache-Control", "Expires", "Last-Modified", "Pragma", "Content-Length", "Content-Language",
                "Content-Type")


@dataclass(frozen=True)
class CorsConfig:
    """serve.{public,admin}.cors.* (ory/x configx cors schema, Hydra's defaults)."""

    enabled: bool = False
    allowed_origins: tuple[str, ...] = ()  # empty: every origin (Hydra's corsx.CheckOrigin)
    allowed_methods: tuple[str, ...] = CORS_METHODS
    allowed_headers: tuple[str, ...] = CORS_HEADERS
    exposed_headers: tuple[str, ...] = CORS_EXPOSED
    allow_credentials: bool = True
    max_age: int = 0
    options_passthrough: bool = False
    debug: bool = False


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
    #: The device flow (RFC 8628): urls.device.*, ttl.device_user_code, oauth2.device_authorization.*.
    device_verification_url: str = ""
    device_success_url: str = ""
    ttl_device_user_code: float = 600.0
    device_polling_interval: float = 5.0
    device_user_code_length: int = 8
    device_user_code_charset: str = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
    #: hydralite only: wrong user codes allowed per client IP per minute (and 5 per device challenge).
    device_user_code_guesses: int = 30
    scope_strategy: str = "wildcard"
    access_token_strategy: str = "opaque"  # opaque | jwt (strategies.access_token; a client's own wins)
    jwt_scope_claim: str = "list"  # list (scp) | string (scope) | both (strategies.jwt.scope_claim)
    #: oauth2.*: how the consent's session.access_token claims appear in a JWT access token (Hydra's defaults).
    allowed_top_level_claims: tuple[str, ...] = ()
    mirror_top_level_claims: bool = True
    preserve_ext_claims: bool = False
    exclude_not_before_claim: bool = False
    pkce_enforced: bool = False
    pkce_enforced_for_public_clients: bool = False
    expose_internal_errors: bool = False
    default_grant_allowed_scope: bool = False
    #: oauth2.grant.jwt.*: the RFC 7523 jwt-bearer grant's assertion rules (Hydra's names and defaults).
    jwt_grant_jti_optional: bool = False
    jwt_grant_iat_optional: bool = False
    jwt_grant_max_ttl: float = 720 * 3600.0
    jwt_grant_omit_assertion_audience: bool = True
    default_client_scope: tuple[str, ...] = ("offline_access", "offline", "openid")
    dynamic_client_registration: bool = False  # oidc.dynamic_client_registration.enabled
    #: oidc.subject_identifiers.*: "public" and/or "pairwise" (OIDC Core §8), and the pairwise salt.
    subject_types_supported: tuple[str, ...] = ("public",)
    pairwise_salt: str = ""
    client_registration_url: str = ""  # webfinger.oidc_discovery.client_registration_url (discovery only)
    cookie_same_site: str = "None"
    cookie_secure: bool = False
    cookie_domain: str = ""
    session_cookie_path: str = "/"
    data_dir: str = ".hydralite"
    log_level: str = "info"
    #: clients.http.*: outbound calls (jwks_uri, sector_identifier_uri, hooks, back-channel logout).
    http_disallow_private_ip_ranges: bool = False
    http_private_ip_exception_urls: tuple[str, ...] = ()
    #: oauth2.token_hook and the legacy oauth2.refresh_token_hook (engine/token_hook.py); None when unset.
    token_hook: HookConfig | None = None
    refresh_token_hook: HookConfig | None = None
    token_hook_timeout: float = 5.0  # hydralite only (HYDRALITE_TOKEN_HOOK_TIMEOUT): the whole call, body included
    cors_public: CorsConfig = CorsConfig()  # serve.public.cors.* (web/cors.py)
    cors_admin: CorsConfig = CorsConfig()  # serve.admin.cors.*
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
    #: Warnings found while loading (before logging is set up); ops/logs.setup() writes them in the log format.
    notices: tuple[str, ...] = ()

    @property
    def embedded(self) -> bool:
        """True when hydralite must start its own PostgreSQL (DSN unset or "memory")."""
        return self.dsn in ("", "memory")

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.dev else True

    def cookie_name(self, base: str) -> str:
        return f"{base}_dev" if self.dev else base
