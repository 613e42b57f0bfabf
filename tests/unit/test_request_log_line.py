"""The request log line's fast path (logs.request_line / log_request) against the generic formatter.

The fast path renders the line straight from the ASGI scope and response; the generic path builds the fields
(http_request, http_response, error) and lets HydraFormatter sort and render them. Both must give the same bytes
for every format and case, so each case here compares the two at the same instant.
"""

from __future__ import annotations

import io
import logging
import os
import re

import orjson
import pytest

from hydralite.config import format_duration
from hydralite.ops import logs
from hydralite.web.instrument import _request_id

CREATED = 1_767_225_600.123456
DONE = "completed handling request"
STARTED = "started handling request"
CUSTOM_REDACTION = 'hidden "value" \\ here'


def scope(**over) -> dict:
    base = {"type": "http", "method": "POST", "path": "/oauth2/token", "raw_path": b"/oauth2/token",
            "query_string": b"", "scheme": "http", "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1:4444"), (b"content-type", b"application/x-www-form-urlencoded"),
                        (b"authorization", b"Basic YWJjOmRlZg=="), (b"content-length", b"39")]}
    base.update(over)
    return base


RESPONSE_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache"),
                    (b"content-type", b"application/json;charset=UTF-8"), (b"content-length", b"180"),
                    (b"x-request-id", b"0123456789abcdef0123456789abcdef")]

SCOPES = {
    "token": scope(),
    "query": scope(method="GET", path="/oauth2/auth", raw_path=b"/oauth2/auth",
                   query_string=b"client_id=a&state=s3cr3t&redirect_uri=http%3A%2F%2Fx"),
    # first value of a repeated name wins, also for a sensitive name whose first value is empty
    "repeated": scope(headers=[(b"Host", b"first.example"), (b"host", b"second.example"), (b"cookie", b""),
                               (b"Cookie", b"sid=abc"), (b"X-Thing", b"1"), (b"x-thing", b"2"),
                               (b"proxy-authorization", b"Basic eA=="), (b"x-session-token", b"tok")]),
    "odd_values": scope(headers=[(b"host", b""), (b"user-agent", b'say "hi" \\ \xe9\xff'), (b"accept", b""),
                                 (b"a-b", b"1"), (b"a", b"2"), (b"a.b", b"3"), (b"authorization", b"")]),
    "no_client_no_raw_path": scope(client=None, raw_path=None, path="/caf\u00e9/x", headers=[]),
    "no_scheme": {k: v for k, v in scope(query_string=b"x=1").items() if k != "scheme"},
    "quoting_request_id": scope(headers=[(b"x-request-id", b'a"b\\c'), (b"host", b"h")]),
}

RESPONSES = {
    "ok": dict(status=200, size=180, took_ns=1_234_567, headers=RESPONSE_HEADERS),
    "redirect": dict(status=303, size=0, took_ns=999, headers=[
        (b"location", b"https://user:pw@example.com/cb?code=abc&state=xyz#frag"),
        (b"set-cookie", b"sid=secret; HttpOnly"), (b"Location", b"http://second/"), (b"set-cookie", b"other")]),
    "bad_location": dict(status=302, size=0, took_ns=1_000_000, headers=[(b"location", b"http://[::1/x?y=1")]),
    "slow_unknown_status": dict(status=499, size=7, took_ns=2_500_000_000, headers=None),
    "empty_headers": dict(status=204, size=0, took_ns=0, headers=[]),
}

ERRORS = {
    "none": None,
    "oauth": logs.error_details(401, b'{"error":"invalid_client","error_description":"Client auth failed."}'),
    "admin": logs.error_details(404, b'{"error":{"code":404,"status":"Not Found","message":"gone"}}'),
    "not_json": logs.error_details(500, b"<html>oops</html>"),
    "odd": logs.error_details(400, b'{"error":["a",1,null,{"k":"v"}],"error_description":"q\\"uote"}'),
}


def generic(kind: str, level: int, msg: str, sc: dict, status=None, size=0, took_ns=0, headers=None, error=None):
    """What the request line was before the fast path: the fields dict through HydraFormatter.line."""
    fields = {"http_request": logs.http_request(sc)}
    if status is not None:
        fields["http_response"] = logs.http_response(status, size, took_ns, headers)
    if error is not None:
        fields["error"] = error
    return logs.HydraFormatter(kind).line(level, msg, fields, created=CREATED)


@pytest.fixture(params=[(False, logs.DEFAULT_REDACTION), (True, logs.DEFAULT_REDACTION), (False, CUSTOM_REDACTION)],
                ids=["redacted", "leaked", "custom_redaction"])
def leak(request, monkeypatch):
    """The two settings logs.setup() takes from the configuration."""
    leak, text = request.param
    monkeypatch.setattr(logs, "_leak", leak)
    monkeypatch.setattr(logs, "_redaction", text)
    return leak


@pytest.fixture(params=[None, "0123456789abcdef0123456789abcdef", 'in"coming\\id'], ids=["no_rid", "rid", "odd_rid"])
def rid(request):
    token = logs.request_id.set(request.param)
    yield request.param
    logs.request_id.reset(token)


@pytest.mark.parametrize("kind", ["text", "json"])
@pytest.mark.parametrize("scope_name", SCOPES)
@pytest.mark.parametrize("response_name", RESPONSES)
def test_completed_line_is_the_generic_line(kind, scope_name, response_name, leak, rid):
    sc, response = SCOPES[scope_name], RESPONSES[response_name]
    for error in ERRORS.values():
        for level in (logging.INFO, logging.DEBUG):
            fast = logs.request_line(kind, level, DONE, sc, **response, error=error, created=CREATED)
            assert fast == generic(kind, level, DONE, sc, **response, error=error)


@pytest.mark.parametrize("kind", ["text", "json"])
@pytest.mark.parametrize("scope_name", SCOPES)
def test_started_line_is_the_generic_line(kind, scope_name, leak, rid):
    sc = SCOPES[scope_name]
    assert logs.request_line(kind, logging.DEBUG, STARTED, sc, created=CREATED) == generic(kind, logging.DEBUG,
                                                                                           STARTED, sc)


def test_the_cases_cover_what_they_claim(rid, monkeypatch):
    """Guards the comparison above against comparing nothing interesting (both sides empty or alike)."""
    monkeypatch.setattr(logs, "_leak", False)
    monkeypatch.setattr(logs, "_redaction", logs.DEFAULT_REDACTION)
    line = logs.request_line("text", logging.INFO, DONE, SCOPES["repeated"], **RESPONSES["redirect"],
                             error=ERRORS["oauth"], created=CREATED)
    assert line.startswith("time=2026-01-01T00:00:00.12345") and " level=info msg=completed handling request " in line
    assert "host:first.example" in line and "second.example" not in line and "cookie:<nil>" in line
    assert "x-thing:1" in line and "sid=" not in line and "location:https://user:xxxxx@example.com/cb " in line
    assert "error=map[message:invalid_client reason:Client auth failed. status_code:401]" in line
    assert "took:999ns" in line and "text_status:See Other" in line
    assert (f" request_id={rid}" in line) == (rid is not None)
    data = orjson.loads(logs.request_line("json", logging.INFO, DONE, SCOPES["query"], **RESPONSES["ok"],
                                          created=CREATED))
    assert data["http_request"]["query"] == logs.DEFAULT_REDACTION and data["http_response"]["took"] == 1_234_567
    assert data["http_request"]["headers"]["authorization"] == logs.DEFAULT_REDACTION
    assert list(data) == sorted(data)


def test_json_pretty_and_unusual_scopes_are_left_to_the_generic_path():
    assert logs.request_line("json_pretty", logging.INFO, DONE, SCOPES["token"], **RESPONSES["ok"]) is None
    assert logs.request_line("text", logging.INFO, DONE, scope(method=b"POST"), **RESPONSES["ok"]) is None


@pytest.fixture
def writer(monkeypatch):
    """logs.setup()'s arrangement (one LineWriter on the root logger, at debug) writing into a string."""
    root = logging.getLogger()
    level = root.level

    def install(kind: str) -> io.StringIO:
        out = io.StringIO()
        handler = logs.LineWriter(out)
        handler.setFormatter(logs.HydraFormatter(kind))
        monkeypatch.setattr(root, "handlers", [handler])
        monkeypatch.setattr(logs, "_writer", handler)
        root.setLevel(logging.DEBUG)
        return out

    yield install
    root.setLevel(level)


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.mark.parametrize("kind", ["text", "json", "json_pretty"])
def test_log_request_writes_the_line_for_every_format(kind, writer, rid):
    out = writer(kind)
    error = ERRORS["admin"]
    logs.log_request(logs.request_log, logging.INFO, DONE, SCOPES["query"], **RESPONSES["redirect"], error=error)
    logs.log_request(logs.request_log, logging.DEBUG, STARTED, SCOPES["token"])
    expected = [generic(kind, logging.INFO, DONE, SCOPES["query"], **RESPONSES["redirect"], error=error),
                generic(kind, logging.DEBUG, STARTED, SCOPES["token"])]
    written = out.getvalue()
    assert len(STAMP.findall(written)) == 2  # the lines were written at their own time, not at CREATED
    assert STAMP.sub("T", written) == STAMP.sub("T", "\n".join(expected) + "\n")


def test_log_request_goes_through_logging_when_another_handler_listens(writer, rid):
    writer("text")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    keep = Keep()
    logs.request_log.addHandler(keep)
    try:
        logs.log_request(logs.request_log, logging.INFO, DONE, SCOPES["token"], **RESPONSES["ok"],
                         error=ERRORS["oauth"])
    finally:
        logs.request_log.removeHandler(keep)
    [record] = seen
    assert record.getMessage() == DONE
    assert record.fields == {"http_request": logs.http_request(SCOPES["token"]),
                             "http_response": logs.http_response(**RESPONSES["ok"]), "error": ERRORS["oauth"]}


def test_request_ids_are_32_lowercase_hex_and_distinct():
    ids = [_request_id([]) for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == len(ids)
    assert any(i.startswith("0") for i in ids)  # zero-padded to 32 (about 60 of 1000 have a leading zero)


def test_incoming_request_id_is_kept_only_when_sane():
    assert _request_id([(b"host", b"h"), (b"x-request-id", b"abc-123")]) == "abc-123"
    assert _request_id([(b"x-request-id", b"abc"), (b"x-request-id", b"second")]) == "abc"
    for bad in (b"", b"has space", b"tab\there", b"x" * 201, "caf\u00e9".encode()):
        assert re.fullmatch(r"[0-9a-f]{32}", _request_id([(b"x-request-id", bad)]))
    assert _request_id([(b"x-request-id", b"y" * 200)]) == "y" * 200


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_workers_make_different_request_ids():
    """Workers are forked from one process: each must draw its own ids, not replay the parent's sequence."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave without running any pytest machinery
        os.close(read)
        os.write(write, _request_id([]).encode())
        os._exit(0)
    os.close(write)
    parent = _request_id([])
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    assert re.fullmatch(r"[0-9a-f]{32}", child) and child != parent


def test_durations_print_as_go_does():
    """The request's `took` in text: Go's time.Duration spelling, by the general formatter as reference."""
    assert [str(logs.Duration(ns)) for ns in (1_234_567, 5_000_000, 1_200_000, 999_999_999, 999, 2_500_000_000)] == \
        ["1.234567ms", "5ms", "1.2ms", "999.999999ms", "999ns", "2.5s"]
    samples = [0, 1, 999, 1_000, 1_500, 999_999, 1_000_000, 1_000_001, 1_000_000_000, 3_600_000_000_001]
    for ns in samples + list(range(1_000_000, 1_000_000_000, 99_991)) + list(range(1_000_000, 1_100_000, 7)):
        assert str(logs.Duration(ns)) == format_duration(ns / 1e9), ns


def test_timestamps_follow_the_second_they_are_in():
    assert logs._timestamp(1_767_225_600.5) == "2026-01-01T00:00:00.500000Z"
    assert logs._timestamp(1_767_225_601.0078125) == "2026-01-01T00:00:01.007812Z"  # truncated
    assert logs._timestamp(1_767_225_600.25) == "2026-01-01T00:00:00.250000Z"  # back to an earlier second
    assert logs._timestamp(1_767_225_659.9990234375) == "2026-01-01T00:00:59.999023Z"
