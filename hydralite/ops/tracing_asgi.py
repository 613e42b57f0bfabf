"""The server span of each request, as Hydra's otelx middleware makes it (otelhttp).

Imported by server.py only when tracing is configured (it imports OpenTelemetry at once). The span is a
child of an incoming W3C `traceparent`, is named after the route template ("POST /oauth2/token") or,
when no route matched, the interface ("public", "admin"), and carries method, route and status. Health
and metrics endpoints are not traced, as otelx's default filter.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hydralite.ops import tracing

# Hydra's propagator also reads Jaeger and B3 headers; hydralite reads W3C trace context only.
_PROPAGATOR = TraceContextTextMapPropagator()
_UNTRACED = ("/health", "/admin/health", "/metrics", "/admin/metrics")

Scope = dict[str, Any]


@cache
def route_template(path: str) -> str:
    """Starlette's route path as Hydra's pattern: "/admin/clients/{id:str}" -> "/admin/clients/{id}"."""
    return re.sub(r"\{([^}:]+):[^}]*\}", r"{\1}", path)


def untraced(path: str) -> bool:
    """otelx's default filter: prefixes, as there."""
    return path.startswith(_UNTRACED)


class TracingMiddleware:
    """Raw ASGI: one server span per HTTP request, current while the app runs (so queries nest under it)."""

    def __init__(self, app: Any, interface: str):
        self.app = app
        self.interface = interface

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        tracer = tracing.TRACER
        if scope["type"] != "http" or tracer is None or untraced(scope["path"]):
            await self.app(scope, receive, send)
            return
        carrier = {}
        for key, value in scope["headers"]:
            if key in (b"traceparent", b"tracestate"):
                carrier[key.decode()] = value.decode("latin-1")
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        method = scope["method"]
        status = 0

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        attributes = {"http.request.method": method, "url.path": scope["path"], "url.scheme": scope["scheme"],
                      "network.protocol.version": scope.get("http_version", "1.1")}
        with tracer.start_as_current_span(self.interface, context=parent, kind=SpanKind.SERVER,
                                          attributes=attributes) as span:
            try:
                await self.app(scope, receive, send_status)
            except BaseException:
                status = status or 500
                raise
            finally:
                # Starlette's router leaves the matched route in the scope it was given.
                path = getattr(scope.get("route"), "path", None)
                if path:
                    template = route_template(path)
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
                if status:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:  # as otelhttp: a 4xx is the client's error, not the server span's
                        span.set_status(Status(StatusCode.ERROR))


def instrument(app: Any, interface: str) -> Any:
    """Install the middleware inside the Starlette app wrapped by `app` (so it sees the normalized path
    and the matched route); failing that, around `app` itself."""
    node = app
    while node is not None and not hasattr(node, "add_middleware"):
        node = getattr(node, "app", None)
    if node is None:
        return TracingMiddleware(app, interface)
    node.add_middleware(TracingMiddleware, interface=interface)
    return app


__all__ = ["TracingMiddleware", "instrument", "route_template", "untraced"]
