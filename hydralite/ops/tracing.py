"""OpenTelemetry tracing as Hydra configures it (`tracing.provider: otel`, spans exported over OTLP/HTTP).

OpenTelemetry is an optional extra (`pip install hydralite[tracing]`) and is imported only here, only
when tracing is configured: with tracing off nothing from it is ever loaded, the request middleware is
not installed, and the database and argon2 hooks cost one `TRACER is not None` test each.

Each process sets up its own tracer provider (`setup`, called per worker after the fork: the batch
exporter's thread does not survive a fork) and flushes it at shutdown (`shutdown`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from hydralite.config import Config, ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

T = TypeVar("T")

#: The tracer of this process while tracing is on; the hooks elsewhere test it against None and do nothing else.
TRACER: Tracer | None = None
_provider: TracerProvider | None = None
_current_span: Any = None  # opentelemetry.trace.get_current_span, bound by setup()
_CLIENT: Any = None
_INTERNAL: Any = None

#: Where otlptracehttp sends spans when no server_url is configured (Hydra's default as well).
DEFAULT_SERVER_URL = "localhost:4318"
MISSING_EXTRA = "tracing.provider is otel but OpenTelemetry is not installed: pip install 'hydralite[tracing]'"


def enabled(config: Config) -> bool:
    return config.tracing_provider == "otel"


def require(config: Config) -> None:
    """Fail the start in one line when tracing is configured but the `tracing` extra is missing."""
    if not enabled(config):
        return
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{MISSING_EXTRA} ({exc})") from None


def endpoint(config: Config) -> str:
    """OTLP/HTTP traces URL from Hydra's host:port `server_url`; `insecure` picks http over https (as otelx)."""
    url = config.tracing_otlp_server_url or DEFAULT_SERVER_URL
    if "://" not in url:
        url = ("http://" if config.tracing_otlp_insecure else "https://") + url
    # Beyond Hydra (whose schema wants host:port): a full URL keeps its own scheme and path.
    scheme, rest = url.split("://", 1)
    return url if "/" in rest.rstrip("/") else f"{scheme}://{rest.rstrip('/')}/v1/traces"


def setup(config: Config) -> None:
    """Start this process's tracer provider: W3C context, ParentBased(ratio) sampling, batched OTLP export."""
    global TRACER, _provider, _current_span, _CLIENT, _INTERNAL
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({"service.name": config.tracing_service_name, "process.pid": os.getpid()})
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(config.tracing_sampling_ratio)))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint(config))))
    _provider, _current_span = provider, trace.get_current_span
    _CLIENT, _INTERNAL = trace.SpanKind.CLIENT, trace.SpanKind.INTERNAL
    TRACER = provider.get_tracer("hydralite")


def shutdown() -> None:
    """Export what is still queued, then stop (called once the servers have drained)."""
    global TRACER, _provider
    provider, TRACER, _provider = _provider, None, None
    if provider is not None:
        provider.shutdown()


async def child(name: str, awaitable: Awaitable[T], attributes: Mapping[str, Any] | None = None, *,
                client: bool = False) -> T:
    """Await `awaitable` inside a span under the current request's span; outside a recorded request
    (health checks, start-up work, a trace sampled out) just await it."""
    tracer = TRACER
    if tracer is None or not _current_span().is_recording():
        return await awaitable
    with tracer.start_as_current_span(name, kind=_CLIENT if client else _INTERNAL, attributes=attributes):
        return await awaitable


async def db_query(name: str, awaitable: Awaitable[T]) -> T:
    """A database query as a client span named after its query in sql/queries (never its parameters)."""
    return await child(name, awaitable, {"db.system": "postgresql", "db.statement": name}, client=True)
