"""Structured logs as Hydra writes them (ory/x logrusx and reqlog): json, json_pretty or text.

Every line carries `audience`, `service_name`, `service_version`, and inside a request its
`request_id`. The request line has logrusx's `http_request` / `http_response` layout. Values
that may be secret (the query string, Authorization, Cookie, Set-Cookie, the query of a
Location) are replaced by the redaction text unless `log.leak_sensitive_values` is true.
"""

from __future__ import annotations

import asyncio
import contextvars
import http
import logging
import sys
import threading
import time
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
_root = logging.getLogger()
_leak = False
_redaction = DEFAULT_REDACTION


class Duration(int):
    """Nanoseconds: an integer in JSON, as Go marshals time.Duration; Go's spelling in text."""

    def __str__(self) -> str:
        ns = int(self)
        if 1_000_000 <= ns < 1_000_000_000:  # a request's usual span, printed without the general case's work
            whole, part = divmod(ns, 1_000_000)
            return (f"{whole}.{part:06d}".rstrip("0").rstrip(".") if part else str(whole)) + "ms"
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
    global _writer
    handler = LineWriter(sys.stderr)
    handler.setFormatter(HydraFormatter(config.log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _writer = handler
    root.setLevel(level_of(config.log_level))
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))  # request lines would print URLs
    logging.captureWarnings(True)  # Python warnings become log lines in the same format
    for notice in config.notices:  # gathered while the configuration loaded, before there was a log format
        logging.getLogger("hydralite.config").warning("%s", notice)


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
        fields["time"] = _timestamp(record.created)
        return fields

    def format(self, record: logging.LogRecord) -> str:
        return self.render(self._fields(record))

    def line(self, level: int, msg: str, extra: dict[str, Any]) -> str:
        """The line `format` makes of a record logged with these fields, without making the record."""
        fields: dict[str, Any] = {**_STATIC, **extra}
        rid = request_id.get()
        if rid is not None:
            fields["request_id"] = rid
        fields["level"] = _LEVEL_NAMES[level]
        fields["msg"] = msg
        fields["time"] = _timestamp(time.time())
        return self.render(fields)

    def render(self, fields: dict[str, Any]) -> str:
        if self.kind == "json":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str).decode()
        if self.kind == "json_pretty":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2, default=str).decode()
        head = [f"time={fields.pop('time')}", f"level={fields.pop('level')}", f"msg={fields.pop('msg')}"]
        return " ".join(head + [f"{k}={_text(v)}" for k, v in sorted(fields.items())])


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with microseconds, as logrus prints; the part up to the second is made once per second."""
    global _second
    whole = int(created)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((created - whole) * 1e6):06d}Z"


class LineWriter(logging.Handler):
    """Writes formatted lines to a stream; inside an event loop, lines are gathered and written together once per
    loop iteration (one write for all the request lines of an iteration instead of one per line).

    Every line, from any logger or thread, passes through the same buffer, so lines keep their order; outside the
    loop's thread (or with no loop) the buffer is written first and the line at once. `flush()` (called by
    logging at exit and by the server when its loop ends) writes whatever is left."""

    def __init__(self, stream: Any):
        super().__init__()
        self.stream = stream
        self._lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging's own policy: a failing handler reports and carries on
            self.handleError(record)

    def write(self, line: str) -> None:
        loop = asyncio._get_running_loop()
        with self._guard:
            if loop is not None:
                self._lines.append(line)
                if len(self._lines) == 1:
                    loop.call_soon(self.flush)
                return
            self._lines.append(line)
            self._write()

    def flush(self) -> None:
        with self._guard:
            self._write()

    def _write(self) -> None:
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines = []
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to tell
            pass


_writer: LineWriter | None = None


def log_fields(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """`logger.log(level, msg, extra={"fields": fields})`, rendered straight to the line writer when it is the
    only place the record would go (no record, no handler chain: the request log writes one line per request)."""
    writer = _writer
    handlers = _root.handlers
    if (writer is not None and not logger.handlers and logger.propagate and len(handlers) == 1
            and handlers[0] is writer and not _root.filters and not logger.filters and not logger.disabled):
        writer.write(writer.formatter.line(level, msg, fields))  # type: ignore[union-attr]
        return
    logger.log(level, msg, extra={"fields": fields})


def flush() -> None:
    """Write buffered lines now (the server calls it when its event loop has ended)."""
    if _writer is not None:
        _writer.flush()


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
