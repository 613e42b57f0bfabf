"""Liveness, readiness and version, on both ports (readiness is 503 while the database or migrations are not)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite import HYDRA_VERSION, errors
from hydralite.web.common import api_json

Ping = Callable[[], Awaitable[list[str]]]


def routes(ping: Ping, *, prefix: str = "", obfuscate: bool = False) -> list[Route]:
    async def alive(request: Request) -> Response:
        return api_json({"status": "ok"})

    async def ready(request: Request) -> Response:
        try:
            pending = await ping()
        except errors.OAuthError:
            message = "error may contain sensitive information and was obfuscated" if obfuscate else \
                "the database is unreachable"
            return api_json({"errors": {"database": message}}, 503)
        if pending:
            message = "error may contain sensitive information and was obfuscated" if obfuscate else \
                f"migrations pending: {', '.join(pending)}"
            return api_json({"errors": {"migrations": message}}, 503)
        return api_json({"status": "ok"})

    async def version(request: Request) -> Response:
        return api_json({"version": HYDRA_VERSION})

    out = [Route(f"{prefix}/health/alive", alive), Route(f"{prefix}/health/ready", ready)]
    if prefix:
        out.append(Route(f"{prefix}/version", version))
    return out
