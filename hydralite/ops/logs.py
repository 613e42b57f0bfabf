"""Structured logs as Hydra writes them (ory/x logrusx and reqlog): json, json_pretty or text.

Every line carries `audience`, `service_name`, `service_version`, and inside a request its
`request_id`. The request line has logrusx's `http_request` / `http_response` layout. Values
that may be secret (the query string, Authorization, Cookie, Set-Cookie, the query of a
Location) are replaced by the redaction text unless `log.leak_sensitive_values` is true.
"""

from __future__ import annotations

import contextvars
import datetime
import http
import logging
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from hydralite import __version__
from hydralite.config import Config, format_duration

TRACE = 5
DEFAULT_REDACTION = ('Value is sensitive and has been redacted. To see the value set config key '
                     '"log.leak_sensitive_values = true" or environment variable "LOG_LEAK_SENSITIVE_VALUES=true".')
#: Headers logrusx redacts; Proxy-Authorization is ours (it carries credentials just the same).
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-session-token", "proxy-authorization"})
#: logrus' level names, by Python level.
_LEVEL_NAMES = {logging.CRITICAL: "fatal", logging.ERROR: "error", logging.WARNING: "warning", logging.INFO: "info",
                logging.DEBUG: "debug", TRACE: "trace"}
_LEVELS = {"panic": logging.CRITICAL, "fatal": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING,
           "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG, "trace": TRACE}
_PHRASES = {s.value: s.phrase for s in http.HTTPStatus}
_STATIC = {"audience": "application", "service_name": "hydralite", "service_version": __version__}

#: The id of the request being served (set by the request middleware), added to every line logged meanwhile.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hydralite_request_id", default=None)

request_log = logging.getLogger("hydralite.request")
_leak = False
_redaction = DEFAULT_REDACTION


class Duration(int):
    """Nanoseconds: an integer in JSON, as Go marshals time.Duration; Go's spelling in text."""

    def __str__(self) -> str:
        return format_duration(self / 1e9)


def level_of(name: str) -> int:
    """logrus' level names; anything else is info, as logrusx falls back."""
    return _LEVELS.get(name.strip().lower(), logging.INFO)


def setup(config: Config) -> None:
    """Route every Python log record through one handler in Hydra's format and level."""
    global _leak, _redaction
    _leak = config.log_leak_sensitive_values
    _redaction = config.log_redaction_text or DEFAULT_REDACTION
    logging.addLevelName(TRACE, "TRACE")
    # Our formats print none of the caller, thread or process fields: skip looking them up for every record
    # (the logging HOWTO's "Optimization"; the request log writes one record per request).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HydraFormatter(config.log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_of(config.log_level))
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))  # request lines would print URLs
    logging.captureWarnings(True)  # Python warnings become log lines in the same format


def redact(value: Any) -> Any:
    """logrusx's maybeRedact: empty stays empty (null), anything else becomes the redaction text."""
    if value in (None, "", b""):
        return None
    return value if _leak else _redaction


def _location(value: str) -> str:
    """logrusx logs a redirect's Location without its query and fragment (codes and challenges live there)."""
    if _leak:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return _redaction
    netloc = parts.netloc
    if "@" in netloc:  # Go's URL.Redacted() hides a password
        userinfo, host = netloc.rsplit("@", 1)
        netloc = (userinfo.split(":", 1)[0] + ":xxxxx@" if ":" in userinfo else userinfo + "@") + host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def headers_redacted(raw: Any) -> dict[str, Any]:
    """logrusx's HTTPHeadersRedacted over ASGI (name, value) byte pairs; the first value of a name wins."""
    out: dict[str, Any] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        if name in out:
            continue
        value = value_b.decode("latin-1")
        if name in SENSITIVE_HEADERS:
            out[name] = redact(value)
        elif name == "location":
            out[name] = _location(value)
        else:
            out[name] = value
    return out


def http_request(scope: Mapping[str, Any]) -> dict[str, Any]:
    """logrusx's WithRequest field for an ASGI scope."""
    client = scope.get("client")
    headers = headers_redacted(scope.get("headers", ()))
    query = scope.get("query_string", b"").decode("latin-1")
    return {"remote": f"{client[0]}:{client[1]}" if client else "", "method": scope["method"],
            "path": (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            "query": redact(query), "scheme": scope.get("scheme", "http"), "host": headers.get("host", ""),
            "headers": headers}


def http_response(status: int, size: int, took_ns: int, headers: Any) -> dict[str, Any]:
    """reqlog's DefaultAfter field."""
    return {"status": status, "size": size, "text_status": _PHRASES.get(status, ""), "took": Duration(took_ns),
            "headers": headers_redacted(headers or ())}


def error_details(status: int, body: bytes) -> dict[str, Any] | None:
    """The `error` field of a failed request, read off the error body the client got (never a secret:
    error bodies name the problem, not the values sent)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"message": _PHRASES.get(status, "error"), "status_code": status}
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):  # the admin API's {"error": {"code", "message", "reason"}} shape
        return {"message": error.get("message"), "reason": error.get("reason"), "status_code": status}
    out = {"message": error, "status_code": status}
    if data.get("error_description"):
        out["reason"] = data["error_description"]
    return out


class HydraFormatter(logging.Formatter):
    """logrus' JSONFormatter (keys sorted, RFC 3339 time) or TextFormatter (key=value, maps as map[k:v])."""

    def __init__(self, fmt: str = "text"):
        super().__init__()
        self.kind = fmt

    def _fields(self, record: logging.LogRecord) -> dict[str, Any]:
        fields: dict[str, Any] = dict(_STATIC)
        extra = getattr(record, "fields", None)
        if extra:
            fields.update(extra)
        rid = request_id.get()
        if rid is not None:
            fields["request_id"] = rid
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            # Hydra adds stack traces only at debug; an unexpected exception is worth its trace at any level.
            fields["error"] = {"message": str(exc) or type(exc).__name__,
                               "stack_trace": self.formatException(record.exc_info)}
        fields["level"] = _LEVEL_NAMES.get(record.levelno, record.levelname.lower())
        fields["msg"] = record.getMessage()
        fields["time"] = datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
            timespec="microseconds").replace("+00:00", "Z")
        return fields

    def format(self, record: logging.LogRecord) -> str:
        fields = self._fields(record)
        if self.kind == "json":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str).decode()
        if self.kind == "json_pretty":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2, default=str).decode()
        head = [f"time={fields.pop('time')}", f"level={fields.pop('level')}", f"msg={fields.pop('msg')}"]
        return " ".join(head + [f"{k}={_text(v)}" for k, v in sorted(fields.items())])


def _text(value: Any) -> str:
    """Go's %v, as logrus' TextFormatter prints field values (strings first: most values are; once per request)."""
    if type(value) is str:
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[" + " ".join([f"{k}:{v if type(v) is str else _text(v)}" for k, v in sorted(value.items())]) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join([_text(v) for v in value]) + "]"
    return str(value)
