"""OpenTelemetry tracing as Hydra configures it, against a local OTLP/HTTP receiver written for the test.

The server runs with TRACING_PROVIDER=otel; requests are made, the server is stopped (spans still queued
are flushed at shutdown), and the spans the receiver decoded are checked. Without the extra, or with
tracing unset, the server is run with OpenTelemetry made unimportable (tests/e2e/otel_blocked).
"""

from __future__ import annotations

import gzip
import os
import secrets
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hydralite.db.queries import load
from tests.conftest import ROOT, SCRATCH, basic, free_port, run_server, server_env

BLOCKER = Path(__file__).resolve().parent / "otel_blocked"
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value"))


class Receiver:
    """A minimal OTLP/HTTP trace receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.paths.append(self.path)
                receiver.add(body, self.headers.get("Content-Type", ""))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, body: bytes, content_type: str) -> None:
        assert content_type == "application/x-protobuf", content_type
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    self.spans.append(Span(s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), s.kind,
                                           {a.key: _value(a.value) for a in s.attributes}, resource))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tracing_env(receiver: Receiver) -> dict[str, str]:
    return {"TRACING_PROVIDER": "otel", "TRACING_PROVIDERS_OTLP_SERVER_URL": f"127.0.0.1:{receiver.port}",
            "TRACING_PROVIDERS_OTLP_INSECURE": "true", "TRACING_SERVICE_NAME": "my-svc"}


def traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


@dataclass
class Scenario:
    receiver: Receiver
    trace_id: str
    parent_id: str
    client: dict
    token: str
    pid: int
    untraced_paths: list[str] = field(default_factory=list)

    def server_span(self, trace_id: str) -> Span:
        found = [s for s in self.receiver.spans if s.trace_id == trace_id and s.kind == SERVER_KIND]
        assert len(found) == 1, [(s.name, s.kind) for s in self.receiver.spans if s.trace_id == trace_id]
        return found[0]

    def children(self, span: Span) -> list[Span]:
        return [s for s in self.receiver.spans if s.parent_id == span.span_id and s.trace_id == span.trace_id]


@pytest.fixture(scope="module")
async def scenario(postgres, template_db):
    receiver = Receiver()
    dsn = await postgres.create_database(template_db)
    header, trace_id, parent_id = traceparent()
    untraced = ["/health/alive", "/health/ready", "/admin/health/ready", "/admin/metrics/prometheus",
                "/metrics/prometheus"]
    try:
        with run_server(dsn, **tracing_env(receiver)) as srv:
            async with httpx.AsyncClient(timeout=30) as http:
                created = await http.post(f"{srv.admin_url}/admin/clients", json={
                    "client_secret": "tracing-secret-" + uuid.uuid4().hex, "grant_types": ["client_credentials"],
                    "scope": "api"})
                assert created.status_code == 201, created.text
                client = created.json()
                response = await http.post(f"{srv.public_url}/oauth2/token",
                                           data={"grant_type": "client_credentials", "scope": "api"},
                                           headers={**basic(client["client_id"], client["client_secret"]),
                                                    "traceparent": header})
                assert response.status_code == 200, response.text
                for path in untraced:
                    await http.get(srv.admin_url + path)
                    if not path.startswith("/admin"):
                        await http.get(srv.public_url + path)
                await http.get(f"{srv.admin_url}/clients/{client['client_id']}")  # admin route without /admin
                await http.get(f"{srv.public_url}/no-such-route")
            pid = srv.process.pid
        yield Scenario(receiver, trace_id, parent_id, client, response.json()["access_token"], pid, untraced)
    finally:
        receiver.close()


async def test_token_request_joins_the_incoming_trace(scenario):
    span = scenario.server_span(scenario.trace_id)
    assert span.parent_id == scenario.parent_id
    assert span.name == "POST /oauth2/token"
    assert span.attributes["http.request.method"] == "POST"
    assert span.attributes["http.route"] == "/oauth2/token"
    assert span.attributes["http.response.status_code"] == 200
    assert scenario.receiver.paths and set(scenario.receiver.paths) == {"/v1/traces"}


async def test_database_queries_are_child_spans_named_after_their_query(scenario):
    span = scenario.server_span(scenario.trace_id)
    queries = [s for s in scenario.children(span) if s.attributes.get("db.system") == "postgresql"]
    names = [s.name for s in queries]
    assert "get_client" in names and any(n.startswith("insert_access_token") for n in names), names
    for query in queries:
        assert query.name in load()
        assert query.attributes["db.statement"] == query.name  # the query's name, never its text or parameters
        flat = repr(query.attributes)
        assert scenario.client["client_id"] not in flat and scenario.client["client_secret"] not in flat


async def test_argon2_verification_is_a_child_span(scenario):
    span = scenario.server_span(scenario.trace_id)
    assert "hash.Argon2.Compare" in [s.name for s in scenario.children(span)]


async def test_every_span_carries_the_service_name(scenario):
    assert scenario.receiver.spans
    assert {s.resource.get("service.name") for s in scenario.receiver.spans} == {"my-svc"}
    assert {s.resource.get("process.pid") for s in scenario.receiver.spans} == {scenario.pid}


async def test_health_and_metrics_endpoints_are_not_traced(scenario):
    paths = {s.attributes.get("url.path") for s in scenario.receiver.spans if s.kind == SERVER_KIND}
    assert not paths & set(scenario.untraced_paths), paths
    # Nor do their database pings appear as spans of their own: every span belongs to a traced request.
    server_traces = {s.trace_id for s in scenario.receiver.spans if s.kind == SERVER_KIND}
    assert {s.trace_id for s in scenario.receiver.spans} == server_traces


async def test_admin_span_is_named_after_the_route_template(scenario):
    names = {s.name: s for s in scenario.receiver.spans if s.kind == SERVER_KIND}
    created = names["POST /admin/clients"]  # with its argon2 hash and its insert as children
    assert {"hash.Argon2.Generate", "insert_client"} <= {s.name for s in scenario.children(created)}
    get = names["GET /admin/clients/{id}"]
    assert get.attributes["http.route"] == "/admin/clients/{id}"
    assert get.attributes["http.response.status_code"] == 200


async def test_unmatched_path_is_named_after_the_interface(scenario):
    spans = [s for s in scenario.receiver.spans if s.attributes.get("url.path") == "/no-such-route"]
    assert [(s.name, s.attributes["http.response.status_code"], "http.route" in s.attributes) for s in spans] == [
        ("public", 404, False)]


async def test_each_worker_exports_its_own_spans(postgres, template_db):
    receiver = Receiver()
    try:
        dsn = await postgres.create_database(template_db)
        with run_server(dsn, HYDRALITE_WORKERS="2", **tracing_env(receiver)) as srv:
            async with httpx.AsyncClient(timeout=30) as http:
                created = await http.post(f"{srv.admin_url}/admin/clients", json={
                    "client_secret": "workers-secret-" + uuid.uuid4().hex, "grant_types": ["client_credentials"]})
                client = created.json()
            trace_ids = []
            for _ in range(8):  # a new connection each time, so either worker may answer
                header, trace_id, _parent = traceparent()
                trace_ids.append(trace_id)
                async with httpx.AsyncClient(timeout=30) as http:
                    response = await http.post(f"{srv.public_url}/oauth2/token",
                                               data={"grant_type": "client_credentials"},
                                               headers={**basic(client["client_id"], client["client_secret"]),
                                                        "traceparent": header})
                    assert response.status_code == 200, response.text
            supervisor = srv.process.pid
        server_spans = [s for s in receiver.spans if s.kind == SERVER_KIND and s.trace_id in trace_ids]
        assert sorted(s.trace_id for s in server_spans) == sorted(trace_ids)
        pids = {s.resource["process.pid"] for s in receiver.spans}
        assert pids and supervisor not in pids  # set up in the forked workers, not before the fork
    finally:
        receiver.close()


def test_tracing_without_the_extra_fails_the_start_in_one_line(tmp_path):
    attempts = tmp_path / "otel-imports.log"
    env = server_env("postgres://127.0.0.1:9/none", free_port(), free_port(), PYTHONPATH=str(BLOCKER),
                     HYDRALITE_TEST_OTEL_LOG=str(attempts), TRACING_PROVIDER="otel",
                     TRACING_PROVIDERS_OTLP_SERVER_URL="127.0.0.1:9")
    done = subprocess.run([sys.executable, "-m", "hydralite", "serve", "all", "--dev"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and "pip install 'hydralite[tracing]'" in lines[0], done.stderr
    assert attempts.read_text().startswith("opentelemetry")  # the blocker really was in the way


async def test_with_tracing_unset_opentelemetry_is_never_imported(postgres, template_db):
    attempts = Path(SCRATCH) / f"otel-imports-{uuid.uuid4().hex}.log"
    dsn = await postgres.create_database(template_db)
    pythonpath = os.pathsep.join(p for p in (str(BLOCKER), os.environ.get("PYTHONPATH", "")) if p)
    with run_server(dsn, PYTHONPATH=pythonpath, HYDRALITE_TEST_OTEL_LOG=str(attempts), TRACING_PROVIDER="") as srv:
        async with httpx.AsyncClient(timeout=30) as http:
            created = await http.post(f"{srv.admin_url}/admin/clients", json={
                "client_secret": "untraced-secret-" + uuid.uuid4().hex, "grant_types": ["client_credentials"]})
            client = created.json()
            header, _trace, _parent = traceparent()
            response = await http.post(f"{srv.public_url}/oauth2/token", data={"grant_type": "client_credentials"},
                                       headers={**basic(client["client_id"], client["client_secret"]),
                                                "traceparent": header})
            assert response.status_code == 200, response.text
            introspected = await http.post(f"{srv.admin_url}/admin/oauth2/introspect",
                                           data={"token": response.json()["access_token"]})
            assert introspected.json()["active"] is True
    assert not attempts.exists(), attempts.read_text()
