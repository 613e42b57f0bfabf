"""The request edge: metrics, the request log line and the request id, in one small ASGI wrapper.

It sits just inside path normalisation (trailing slash, `/admin` prefix), where Hydra puts its
prometheusx and reqlog middlewares, so it sees the path the router matched and reads the matched
route from the scope afterwards (`scope["route"]`, set by Starlette's router: no second routing
pass). Per request it allocates one closure and one small list; labels are cached per route.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hydralite.ops import logs, metrics
from hydralite.web.common import PathNormalizer
from hydralite.web.whole_body import WholeBody

METRICS_PATH = "/admin/metrics/prometheus"
#: Hydra's `request_log.disable_for_health` paths; we log them at debug instead of info by default.
QUIET_PATHS = frozenset({"/health/alive", "/health/ready", "/admin/health/alive", "/admin/health/ready", METRICS_PATH})
_MAX_REQUEST_ID = 200
_ERROR_BODY_LIMIT = 4096

log = logging.getLogger("hydralite.web")


def _request_id(headers: Any) -> str:
    """An incoming X-Request-Id is kept when it is a sane header value; otherwise a new one is made."""
    for name, value in headers:
        if name == b"x-request-id":
            if 0 < len(value) <= _MAX_REQUEST_ID and value.isascii() and all(0x21 <= c <= 0x7E for c in value):
                return value.decode()
            break
    # 128 bits for uniqueness, not secrecy: the random module's generator (reseeded in forked workers) instead of
    # a getrandom() system call per request.
    return f"{random.getrandbits(128):032x}"


class Instrument:
    """Counts, times and logs every HTTP request, and answers with its X-Request-Id."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.observe = metrics.request_observer()
        logger = logs.request_log
        self.log_info = logger.isEnabledFor(logging.INFO)
        self.log_debug = logger.isEnabledFor(logging.DEBUG)
        self._labels: dict[int, str] = {}

    def _endpoint(self, route: Any) -> str:
        if route is None:
            return metrics.UNMATCHED
        label = self._labels.get(id(route))
        if label is None:
            label = metrics.endpoint_label(getattr(route, "path", "") or metrics.UNMATCHED)
            self._labels[id(route)] = label  # routes live as long as the app: their ids are stable
        return label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = _request_id(scope["headers"])
        rid_header = (b"x-request-id", rid.encode())
        level = 0
        if self.log_info or self.log_debug:
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            if not logs.request_log.isEnabledFor(level):
                level = 0
        token = logs.request_id.set(rid)
        if level and self.log_debug:
            logs.log_request(logs.request_log, logging.DEBUG, "started handling request", scope)
        # status, body size, response headers, first bytes of an error body
        state: list[Any] = [499, 0, None, None]  # 499: the client went away before any response

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state[0] = message["status"]
                headers = [*message.get("headers", ()), rid_header]
                message["headers"] = headers
                state[2] = headers
            elif level:
                body = message.get("body", b"")
                state[1] += len(body)
                if state[0] >= 400 and state[3] is None:
                    state[3] = body[:_ERROR_BODY_LIMIT]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if state[2] is None:  # else Starlette's error handler answered 500 and logged it already
                state[0] = 500
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            raise
        finally:
            seconds = time.perf_counter() - start
            if self.observe is not None:
                self.observe(self._endpoint(scope.get("route")), scope["method"], state[0], seconds)
            if level:
                self._log(level, scope, state, seconds)
            logs.request_id.reset(token)

    def _log(self, level: int, scope: Scope, state: list[Any], seconds: float) -> None:
        status = state[0]
        error = logs.error_details(status, state[3]) if status >= 400 and state[3] else None
        logs.log_request(logs.request_log, level, "completed handling request", scope, status, state[1],
                         int(seconds * 1e9), state[2], error or None)


def instrument(app: ASGIApp) -> ASGIApp:
    """Put the Instrument just inside the app's PathNormalizer (or around the app when there is none), with
    web/whole_body.py's WholeBody right inside it (keep-alive connections stay usable after early answers)."""
    if isinstance(app, PathNormalizer):
        app.app = Instrument(WholeBody(app.app))
        return app
    return Instrument(WholeBody(app))


async def _metrics_page(request: Request) -> Response:
    return Response(metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})


def metrics_routes() -> list[Route]:
    """Hydra's Prometheus page, on the admin port only (`/metrics/prometheus` reaches it too)."""
    return [Route(METRICS_PATH, _metrics_page, methods=["GET"])]
