"""Build the Config from Hydra's environment names (a configuration file arrives here already
flattened to the same names by sources.py), so every name is parsed and validated in one place."""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path

from hydralite.config import web, workers
from hydralite.config.model import Config, ConfigError, env_duration, parse_bool, parse_list

#: Hydra configuration keys hydralite implements; each is read from the environment name
#: `key.upper().replace(".", "_")`. Every other key of Hydra's schema is accepted and reported as not supported.
HYDRA_KEYS: tuple[str, ...] = (
    "dsn", "dev",
    "secrets.system", "secrets.cookie", "secrets.pagination",
    "serve.public.host", "serve.public.port", "serve.admin.host", "serve.admin.port",
    "serve.cookies.same_site_mode", "serve.cookies.secure", "serve.cookies.domain", "serve.cookies.paths.session",
    "urls.self.issuer", "urls.self.public", "urls.self.admin", "urls.login", "urls.consent", "urls.logout",
    "urls.error", "urls.post_logout_redirect",
    "ttl.access_token", "ttl.refresh_token", "ttl.id_token", "ttl.auth_code", "ttl.login_consent_request",
    "ttl.authentication_session",
    "urls.device.verification", "urls.device.success", "ttl.device_user_code",
    "oauth2.device_authorization.token_polling_interval", "oauth2.device_authorization.user_code.entropy_preset",
    "oauth2.device_authorization.user_code.length", "oauth2.device_authorization.user_code.character_set",
    "strategies.scope", "strategies.access_token", "strategies.jwt.scope_claim",
    "oauth2.allowed_top_level_claims", "oauth2.mirror_top_level_claims", "oauth2.preserve_ext_claims",
    "oauth2.exclude_not_before_claim",
    "oauth2.pkce.enforced", "oauth2.pkce.enforced_for_public_clients", "oauth2.expose_internal_errors",
    "oauth2.client_credentials.default_grant_allowed_scope",
    "oauth2.grant.jwt.jti_optional", "oauth2.grant.jwt.iat_optional", "oauth2.grant.jwt.max_ttl",
    "oauth2.grant.jwt.omit_assertion_audience",
    "oidc.dynamic_client_registration.enabled", "oidc.dynamic_client_registration.default_scope",
    "oidc.subject_identifiers.supported_types", "oidc.subject_identifiers.pairwise.salt",
    "webfinger.oidc_discovery.client_registration_url",
    "clients.http.disallow_private_ip_ranges", "clients.http.private_ip_exception_urls",
    "log.level", "log.format", "log.leak_sensitive_values", "log.redaction_text",
    "tracing.provider", "tracing.service_name", "tracing.providers.otlp.server_url",
    "tracing.providers.otlp.insecure", "tracing.providers.otlp.sampling.sampling_ratio",
    *web.KEYS,  # oauth2.token_hook, oauth2.refresh_token_hook, serve.{public,admin}.cors.* (parsed in web.py)
)


def env_name(key: str) -> str:
    """Hydra's environment name of a configuration key: `serve.public.port` → `SERVE_PUBLIC_PORT`."""
    return key.upper().replace(".", "_")


_TTL_NAMES = {
    "TTL_ACCESS_TOKEN": "ttl_access_token",
    "TTL_REFRESH_TOKEN": "ttl_refresh_token",
    "TTL_ID_TOKEN": "ttl_id_token",
    "TTL_AUTH_CODE": "ttl_auth_code",
    "TTL_LOGIN_CONSENT_REQUEST": "ttl_login_consent_request",
    "TTL_AUTHENTICATION_SESSION": "ttl_authentication_session",
    "TTL_DEVICE_USER_CODE": "ttl_device_user_code",
}


def from_env(source: Mapping[str, str | list[str]], *, dev: bool | None = None,
             origin: Mapping[str, str] | None = None) -> Config:
    """Build the Config from Hydra's names; raise ConfigError listing every problem.

    Values are environment strings, or lists from a configuration file. `origin` maps a name whose value
    came from a file to "key in file", so that problems name what the user wrote.
    """
    env: Mapping[str, str] = {k: v for k, v in source.items() if isinstance(v, str)}
    lists: Mapping[str, list[str]] = {k: v for k, v in source.items() if isinstance(v, list)}
    problems: list[str] = []
    values: dict[str, object] = {}

    is_dev = parse_bool(env.get("DEV", "")) if dev is None else dev
    values["dev"] = is_dev
    values["dsn"] = env.get("DSN", "").strip()

    for name, attr in (("SECRETS_SYSTEM", "secrets_system"), ("SECRETS_COOKIE", "secrets_cookie"),
                       ("SECRETS_PAGINATION", "secrets_pagination")):
        try:
            secrets = tuple(parse_list(lists.get(name) or env.get(name, "")))
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        short = [i for i, s in enumerate(secrets) if len(s) < 16]
        if short:
            problems.append(f"{name}: every secret must be at least 16 characters long (entry {short[0] + 1})")
        values[attr] = secrets

    for name, attr, default in (("SERVE_PUBLIC_PORT", "public_port", 4444), ("SERVE_ADMIN_PORT", "admin_port", 4445),
                                ("HYDRALITE_UI_PORT", "ui_port", 3000)):
        raw = env.get(name, "")
        try:
            values[attr] = int(raw) if raw.strip() else default
        except ValueError:
            problems.append(f"{name}: expected an integer, got {raw!r}")
            continue
        if not 0 <= values[attr] <= 65535:  # type: ignore[operator]
            problems.append(f"{name}: must be between 0 and 65535, got {raw!r}")
    try:  # N or auto; unset: one per CPU, one under --dev (config/workers.py)
        values["workers"] = workers.default_workers(env.get("HYDRALITE_WORKERS", ""), dev=is_dev)
    except ValueError as exc:
        problems.append(f"HYDRALITE_WORKERS: {exc}")
    values["public_host"] = env.get("SERVE_PUBLIC_HOST", "")
    values["admin_host"] = env.get("SERVE_ADMIN_HOST", "")

    for name, attr in _TTL_NAMES.items():
        ttl = env_duration(env, name, problems)
        if ttl is None:
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
    if at_strategy not in ("opaque", "jwt"):
        problems.append(f"STRATEGIES_ACCESS_TOKEN: must be 'opaque' or 'jwt', got {at_strategy!r}")
    values["access_token_strategy"] = at_strategy
    scope_claim = env.get("STRATEGIES_JWT_SCOPE_CLAIM", "list").strip().lower() or "list"
    if scope_claim not in ("list", "string", "both"):
        problems.append(f"STRATEGIES_JWT_SCOPE_CLAIM: must be 'list', 'string' or 'both', got {scope_claim!r}")
    values["jwt_scope_claim"] = scope_claim
    try:
        name = "OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS"
        values["allowed_top_level_claims"] = tuple(dict.fromkeys(parse_list(lists.get(name) or env.get(name, ""))))
    except ValueError as exc:
        problems.append(f"OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS: {exc}")
    mirror = env.get("OAUTH2_MIRROR_TOP_LEVEL_CLAIMS", "")
    values["mirror_top_level_claims"] = parse_bool(mirror) if mirror.strip() else True  # Hydra's default: true
    values["preserve_ext_claims"] = parse_bool(env.get("OAUTH2_PRESERVE_EXT_CLAIMS", ""))
    values["exclude_not_before_claim"] = parse_bool(env.get("OAUTH2_EXCLUDE_NOT_BEFORE_CLAIM", ""))

    values["pkce_enforced"] = parse_bool(env.get("OAUTH2_PKCE_ENFORCED", ""))
    values["pkce_enforced_for_public_clients"] = parse_bool(env.get("OAUTH2_PKCE_ENFORCED_FOR_PUBLIC_CLIENTS", ""))
    values["expose_internal_errors"] = parse_bool(env.get("OAUTH2_EXPOSE_INTERNAL_ERRORS", ""))
    values["default_grant_allowed_scope"] = parse_bool(
        env.get("OAUTH2_CLIENT_CREDENTIALS_DEFAULT_GRANT_ALLOWED_SCOPE", ""))
    values["jwt_grant_jti_optional"] = parse_bool(env.get("OAUTH2_GRANT_JWT_JTI_OPTIONAL", ""))
    values["jwt_grant_iat_optional"] = parse_bool(env.get("OAUTH2_GRANT_JWT_IAT_OPTIONAL", ""))
    omit = env.get("OAUTH2_GRANT_JWT_OMIT_ASSERTION_AUDIENCE", "").strip()
    values["jwt_grant_omit_assertion_audience"] = parse_bool(omit) if omit else True
    max_ttl = env_duration(env, "OAUTH2_GRANT_JWT_MAX_TTL", problems)
    if max_ttl is not None:
        values["jwt_grant_max_ttl"] = max_ttl
    raw_scope = lists.get("OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE") or env.get(
        "OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE", "")
    if raw_scope and (isinstance(raw_scope, list) or raw_scope.strip()):
        try:
            values["default_client_scope"] = tuple(parse_list(raw_scope))
        except ValueError as exc:
            problems.append(f"OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE: {exc}")

    values["dynamic_client_registration"] = parse_bool(env.get("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", ""))
    _subject_identifiers(env, lists, values, problems)
    values["client_registration_url"] = env.get("WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL", "").strip()

    same_site = env.get("SERVE_COOKIES_SAME_SITE_MODE", "None").strip() or "None"
    if same_site not in ("Strict", "Lax", "None"):
        problems.append(f"SERVE_COOKIES_SAME_SITE_MODE: must be Strict, Lax or None, got {same_site!r}")
    values["cookie_same_site"] = same_site
    values["cookie_secure"] = parse_bool(env.get("SERVE_COOKIES_SECURE", ""))
    values["cookie_domain"] = env.get("SERVE_COOKIES_DOMAIN", "")
    values["session_cookie_path"] = env.get("SERVE_COOKIES_PATHS_SESSION", "/") or "/"

    values["data_dir"] = env.get("HYDRALITE_DATA_DIR", "") or str(Path.cwd() / ".hydralite")
    values["log_level"] = env.get("LOG_LEVEL", "info").lower() or "info"
    values["http_disallow_private_ip_ranges"] = parse_bool(env.get("CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES", ""))
    try:
        name = "CLIENTS_HTTP_PRIVATE_IP_EXCEPTION_URLS"
        values["http_private_ip_exception_urls"] = tuple(parse_list(lists.get(name) or env.get(name, "")))
    except ValueError as exc:
        problems.append(f"CLIENTS_HTTP_PRIVATE_IP_EXCEPTION_URLS: {exc}")
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json", "json_pretty"):
        problems.append(f"LOG_FORMAT: must be text, json or json_pretty, got {log_format!r}")
    values["log_format"] = log_format
    values["log_leak_sensitive_values"] = parse_bool(env.get("LOG_LEAK_SENSITIVE_VALUES", ""))
    values["log_redaction_text"] = env.get("LOG_REDACTION_TEXT", "")
    provider = env.get("TRACING_PROVIDER", "").strip().lower()
    if provider not in ("", "otel"):
        problems.append(f"TRACING_PROVIDER: only 'otel' is supported, got {provider!r}")
    values["tracing_provider"] = provider
    values["tracing_service_name"] = env.get("TRACING_SERVICE_NAME", "").strip() or "hydralite"
    values["tracing_otlp_server_url"] = env.get("TRACING_PROVIDERS_OTLP_SERVER_URL", "").strip()
    values["tracing_otlp_insecure"] = parse_bool(env.get("TRACING_PROVIDERS_OTLP_INSECURE", ""))
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
    if is_dev and not any(env.get(n, "").strip() for n in ui_names) and not parse_bool(env.get("HYDRALITE_NO_UI", "")):
        values["embedded_ui"] = True
        fallback = f"http://localhost:{values.get('ui_port', 3000)}"
    values["login_url"] = env.get("URLS_LOGIN", "").strip() or f"{fallback}/login"
    values["consent_url"] = env.get("URLS_CONSENT", "").strip() or f"{fallback}/consent"
    values["logout_url"] = env.get("URLS_LOGOUT", "").strip() or f"{fallback}/logout"
    values["error_url"] = env.get("URLS_ERROR", "").strip() or f"{public}/oauth2/fallbacks/error"
    values["post_logout_redirect_url"] = (env.get("URLS_POST_LOGOUT_REDIRECT", "").strip()
                                          or f"{public}/oauth2/fallbacks/logout/callback")
    values["device_verification_url"] = env.get("URLS_DEVICE_VERIFICATION", "").strip() or f"{fallback}/device"
    values["device_success_url"] = env.get("URLS_DEVICE_SUCCESS", "").strip() or f"{fallback}/device/done"
    _device_settings(env, values, problems)

    for name, attr in (("HYDRALITE_ARGON2_TIME_COST", "argon2_time_cost"),
                       ("HYDRALITE_ARGON2_MEMORY_KIB", "argon2_memory_kib"),
                       ("HYDRALITE_ARGON2_THREADS", "argon2_threads")):
        raw = env.get(name, "")
        if raw.strip():
            try:
                values[attr] = int(raw)
            except ValueError:
                problems.append(f"{name}: expected an integer, got {raw!r}")

    web.parse(env, lists, values, problems)

    if problems:
        raise ConfigError(describe(problems, origin or {}))
    values["extra"] = {k: v for k, v in env.items() if k.startswith("URLS_")}
    return Config(**values)  # type: ignore[arg-type]


#: Hydra's user-code presets (oauth2.device_authorization.user_code.entropy_preset): (length, characters).
USER_CODE_PRESETS = {"high": (8, "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"),
                     "medium": (8, string.ascii_uppercase), "low": (9, string.digits)}


def _device_settings(env: Mapping[str, str], values: dict[str, object], problems: list[str]) -> None:
    """oauth2.device_authorization.* and hydralite's own limit on wrong user codes."""
    name = "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL"
    interval = env_duration(env, name, problems)
    if interval is not None:
        if interval < 1:  # the response carries whole seconds; Hydra would announce 0
            problems.append(f"{name}: must be at least 1s")
        values["device_polling_interval"] = interval
    preset = env.get("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET", "").strip() or "high"
    if preset not in USER_CODE_PRESETS:  # Hydra logs this and falls back to "high"
        problems.append(f"OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET: must be high, medium or low, "
                        f"got {preset!r}")
        preset = "high"
    length, charset = USER_CODE_PRESETS[preset]
    raw = env.get("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH", "").strip()
    if raw:
        if not raw.isdigit() or not 6 <= int(raw) <= 64:
            problems.append(f"OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH: must be an integer from 6 to 64, "
                            f"got {raw!r}")
        else:
            length = int(raw)
    custom = env.get("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET", "")
    if custom:
        # hydralite compares user codes case-insensitively and without separators (RFC 8628 §6.1).
        if any(c.isspace() or c == "-" for c in custom) or len(set(custom.casefold())) < 2:
            problems.append("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET: needs at least two characters "
                            "that differ ignoring case, and no spaces or '-'")
        else:
            charset = custom
    values["device_user_code_length"] = length
    values["device_user_code_charset"] = charset
    raw = env.get("HYDRALITE_DEVICE_USER_CODE_GUESSES", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            problems.append(f"HYDRALITE_DEVICE_USER_CODE_GUESSES: expected a positive integer, got {raw!r}")
        else:
            values["device_user_code_guesses"] = int(raw)


def _subject_identifiers(env: Mapping[str, str], lists: Mapping[str, list[str]], values: dict[str, object],
                         problems: list[str]) -> None:
    """oidc.subject_identifiers.*: Hydra forces "public" when neither type is listed and refuses to start
    with pairwise and a salt shorter than 8 characters."""
    name = "OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES"
    try:
        types = parse_list(lists.get(name) or env.get(name, "")) or ["public"]
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return
    unknown = [t for t in types if t not in ("public", "pairwise")]
    if unknown:
        problems.append(f"{name}: only 'public' and 'pairwise' are known, got {unknown[0]!r}")
        return
    salt = env.get("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT", "")
    if "pairwise" in types and len(salt) < 8:
        problems.append("OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT: must be at least 8 characters long when "
                        "'pairwise' is a supported subject type")
    values["subject_types_supported"] = tuple(t for t in ("public", "pairwise") if t in types) or ("public",)
    values["pairwise_salt"] = salt


def describe(problems: list[str], origin: Mapping[str, str]) -> str:
    """One line for one problem, else one per line; a value from a file is named by its key and file."""
    named = []
    for problem in problems:
        name, sep, rest = problem.partition(": ")
        named.append(f"{origin[name]}: {rest}" if sep and name in origin else problem)
    if len(named) == 1:
        return f"invalid configuration: {named[0]}"
    return "invalid configuration:\n  - " + "\n  - ".join(named)
