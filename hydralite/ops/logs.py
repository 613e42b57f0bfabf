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
import os
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
        return _go_duration(int(self))


def _go_duration(ns: int) -> str:
    """Go's time.Duration.String() of nanoseconds."""
    if 1_000_000 <= ns < 1_000_000_000:  # a request's usual span, printed without the general case's work:
        # ns / 1e6 has at most 9 significant digits, which the shortest repr of the float reproduces exactly
        return f"{ns / 1e6!r}ms".replace(".0ms", "ms")
    return format_duration(ns / 1e9)


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
    _flush_before_fork()
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

    def line(self, level: int, msg: str, extra: dict[str, Any], created: float | None = None) -> str:
        """The line `format` makes of a record logged with these fields (at `created`, default now), without
        making the record."""
        fields: dict[str, Any] = {**_STATIC, **extra}
        rid = request_id.get()
        if rid is not None:
            fields["request_id"] = rid
        fields["level"] = _LEVEL_NAMES[level]
        fields["msg"] = msg
        fields["time"] = _timestamp(time.time() if created is None else created)
        return self.render(fields)

    def render(self, fields: dict[str, Any]) -> str:
        if self.kind == "json":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str).decode()
        if self.kind == "json_pretty":
            return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2, default=str).decode()
        head = [f"time={fields.pop('time')}", f"level={fields.pop('level')}", f"msg={fields.pop('msg')}"]
        return " ".join(head + [f"{k}={_text(v)}" for k, v in sorted(fields.items())])


_second: tuple[int, str] = (-1, "")  # one tuple, so that threads never see one second's text with another's number


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with microseconds, as logrus prints; the part up to the second is made once per second."""
    global _second
    whole = int(created)
    second = _second
    if whole != second[0]:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole)))
    return "%s%06dZ" % (second[1], int((created - whole) * 1e6))  # noqa: UP031 - quicker than an f-string here


#: How long a line written inside an event loop may wait for the lines after it (one write call for all of them).
FLUSH_DELAY = 0.01


class LineWriter(logging.Handler):
    """Writes formatted lines to a stream; inside an event loop, lines are gathered and written together at most
    FLUSH_DELAY later (under load, one write call for a few dozen request lines instead of one per request).

    Every line, from any logger or thread, passes through the same buffer, so lines keep their order; outside the
    loop's thread (or with no loop) the buffer is written first and the line at once. `flush()` (called by
    logging at exit and by the server when its loop ends) writes whatever is left."""

    def __init__(self, stream: Any):
        super().__init__()
        self.stream = stream
        self._lines: list[str] = []
        self._guard = threading.Lock()
        self._scheduled: object = None  # the loop a flush is scheduled on

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
                if self._scheduled is not loop:  # none yet, or on a loop that ended before its flush
                    self._scheduled = loop
                    loop.call_later(FLUSH_DELAY, self.flush)
                return
            self._lines.append(line)
            self._write()

    def flush(self) -> None:
        with self._guard:
            self._scheduled = None
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


def _direct(logger: logging.Logger, writer: LineWriter) -> bool:
    """Whether the line writer is the only place a record of `logger` would go (no filter, no other handler)."""
    handlers = _root.handlers
    return (not logger.handlers and logger.propagate and len(handlers) == 1 and handlers[0] is writer
            and not _root.filters and not logger.filters and not logger.disabled)


def log_fields(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """`logger.log(level, msg, extra={"fields": fields})`, rendered straight to the line writer when it is the
    only place the record would go (no record, no handler chain)."""
    writer = _writer
    if writer is not None and _direct(logger, writer):
        writer.write(writer.formatter.line(level, msg, fields))  # type: ignore[union-attr]
        return
    logger.log(level, msg, extra={"fields": fields})


def log_request(logger: logging.Logger, level: int, msg: str, scope: Mapping[str, Any], status: int | None = None,
                size: int = 0, took_ns: int = 0, headers: Any = None, error: dict[str, Any] | None = None) -> None:
    """`log_fields` with `http_request` (of `scope`), `http_response` (when `status` is given) and `error` (when
    given), for the text and json formats rendered by `request_line` without building those fields: the request
    log writes one or two of these lines per request."""
    writer = _writer
    if writer is not None and _direct(logger, writer) and type(writer.formatter) is HydraFormatter:
        line = request_line(writer.formatter.kind, level, msg, scope, status, size, took_ns, headers, error)
        if line is not None:
            writer.write(line)
            return
    fields = {"http_request": http_request(scope)}
    if status is not None:
        fields["http_response"] = http_response(status, size, took_ns, headers)
    if error is not None:
        fields["error"] = error
    log_fields(logger, level, msg, fields)


_fork_hook = False


def _flush_before_fork() -> None:
    """Lines gathered but not written yet must not be inherited (and written again) by a forked worker."""
    global _fork_hook
    if not _fork_hook:
        os.register_at_fork(before=flush)
        _fork_hook = True


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


# The request line, rendered directly. It must stay byte for byte what HydraFormatter.line makes of the fields
# http_request(), http_response() and error (tests/unit/test_request_log_line.py compares the two): the same
# values, with the keys in the order the generic formatter's sorting puts them, which is known in advance except
# for the header names. json_pretty, other formats and a scope with non-str method or scheme take the generic path.

#: Header name bytes -> decoded, lowercased name. Bounded: clients choose request header names.
_NAMES: dict[bytes, str] = {}
_NAMES_MAX = 512
_TEXT_AUDIENCE = f"audience={_text(_STATIC['audience'])}"
_TEXT_SERVICE = f" service_name={_text(_STATIC['service_name'])} service_version={_text(_STATIC['service_version'])}"
_JSON_AUDIENCE = orjson.dumps({"audience": _STATIC["audience"]}).decode()[:-1] + ","
_JSON_SERVICE = orjson.dumps({k: _STATIC[k] for k in ("service_name", "service_version")}).decode()[1:-1]
_json_level_msg: dict[tuple[int, str], str] = {}  # (level, msg) -> ',"level":…,"msg":…,'


def _headers_fast(raw: Any, nil: str | None) -> dict[str, str | None]:
    """headers_redacted(raw), with `nil` for a redacted empty value (None for JSON, Go's <nil> for text) and
    without decoding the values it redacts."""
    out: dict[str, str | None] = {}
    names = _NAMES
    for name_b, value_b in raw:
        name = names.get(name_b)
        if name is None:
            name = name_b.decode("latin-1").lower()
            if len(names) < _NAMES_MAX:
                names[name_b] = name
        if name in out:
            continue
        if name in SENSITIVE_HEADERS:
            out[name] = (value_b.decode("latin-1") if _leak else _redaction) if value_b else nil
        elif name == "location":
            out[name] = _location(value_b.decode("latin-1"))
        else:
            out[name] = value_b.decode("latin-1")
    return out


def request_line(kind: str, level: int, msg: str, scope: Mapping[str, Any], status: int | None = None,
                 size: int = 0, took_ns: int = 0, headers: Any = None, error: dict[str, Any] | None = None,
                 created: float | None = None) -> str | None:
    """The line HydraFormatter(kind).line(level, msg, fields, created) makes of log_request's fields, or None
    where that formatter's generic path is to be used."""
    if kind != "text" and kind != "json":
        return None
    method = scope["method"]
    scheme = scope.get("scheme", "http")
    client = scope.get("client")
    remote = f"{client[0]}:{client[1]}" if client else ""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query_b = scope.get("query_string", b"")
    rid = request_id.get()
    stamp = _timestamp(time.time() if created is None else created)
    if kind == "text":
        if type(method) is not str or type(scheme) is not str:
            return None
        nil = "<nil>"
        query = (query_b.decode("latin-1") if _leak else _redaction) if query_b else nil
        req = _headers_fast(scope.get("headers", ()), nil)
        line = f"time={stamp} level={_LEVEL_NAMES[level]} msg={msg} {_TEXT_AUDIENCE}"
        if error is not None:
            line += f" error={_text(error)}"
        line += (f" http_request=map[headers:map[{' '.join([f'{k}:{req[k]}' for k in sorted(req)])}]"
                 f" host:{req.get('host', '')} method:{method} path:{path} query:{query} remote:{remote}"
                 f" scheme:{scheme}]")
        if status is not None:
            resp = _headers_fast(headers or (), nil)
            line += (f" http_response=map[headers:map[{' '.join([f'{k}:{resp[k]}' for k in sorted(resp)])}]"
                     f" size:{size} status:{status} text_status:{_PHRASES.get(status, '')}"
                     f" took:{_go_duration(took_ns)}]")
        if rid is not None:
            line += f" request_id={rid}"
        return line + _TEXT_SERVICE
    req = _headers_fast(scope.get("headers", ()), None)
    fields: dict[str, Any] = {}
    if error is not None:
        fields["error"] = error
    fields["http_request"] = {
        "headers": req, "host": req.get("host", ""), "method": method, "path": path,
        "query": (query_b.decode("latin-1") if _leak else _redaction) if query_b else None, "remote": remote,
        "scheme": scheme}
    if status is not None:
        fields["http_response"] = {"headers": _headers_fast(headers or (), None), "size": size, "status": status,
                                   "text_status": _PHRASES.get(status, ""), "took": took_ns}
    # the keys before "level" (audience, error, http_*), then level, msg, request_id, service_*, time
    middle = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str).decode()
    level_msg = _json_level_msg.get((level, msg))
    if level_msg is None:
        level_msg = "," + orjson.dumps({"level": _LEVEL_NAMES[level], "msg": msg}).decode()[1:-1] + ","
        if len(_json_level_msg) < 64:
            _json_level_msg[(level, msg)] = level_msg
    rid_part = "" if rid is None else '"request_id":' + orjson.dumps(rid, default=str).decode() + ","
    return f'{_JSON_AUDIENCE}{middle[1:-1]}{level_msg}{rid_part}{_JSON_SERVICE},"time":"{stamp}"}}'
