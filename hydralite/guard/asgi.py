"""BearerGuard: ASGI middleware that lets a request through only with an acceptable access token."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from hydralite.guard.core import Guard
from hydralite.guard.errors import Denied
from hydralite.guard.introspector import Introspector, Unavailable
from hydralite.guard.jwks import JwksVerifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def make_guard(admin_url: str | None, scopes: Iterable[str], audience: str | Sequence[str] | None,
               realm: str | None, introspector: Introspector | None, ttl: float, inactive_ttl: float,
               timeout: float, jwks_url: str | None = None, issuer: str | None = None,
               verifier: JwksVerifier | None = None) -> Guard:
    if introspector is None and admin_url:
        introspector = Introspector(admin_url, ttl=ttl, inactive_ttl=inactive_ttl, timeout=timeout)
    if verifier is None and jwks_url:
        verifier = JwksVerifier(jwks_url, issuer=issuer, timeout=timeout)
    return Guard(introspector, scopes, audience, realm, verifier)


async def _respond(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BearerGuard:
    """Wrap an ASGI app: the introspection answer lands in scope["state"]["token"] (`request.state.token`).

    Paths in `exempt` (exact matches, e.g. a health check) pass without a token. With `jwks_url`, JWT access
    tokens are verified offline against that key set (and `issuer`, when given); other tokens are introspected
    at `admin_url` (without one, they are refused).
    """

    def __init__(self, app: ASGIApp, admin_url: str | None = None, scopes: Iterable[str] = (),
                 audience: str | Sequence[str] | None = None, *, realm: str | None = None,
                 exempt: Iterable[str] = (), introspector: Introspector | None = None, ttl: float = 60.0,
                 inactive_ttl: float = 5.0, timeout: float = 5.0, jwks_url: str | None = None,
                 issuer: str | None = None, verifier: JwksVerifier | None = None):
        self.app = app
        self.guard = make_guard(admin_url, scopes, audience, realm, introspector, ttl, inactive_ttl, timeout,
                                jwks_url, issuer, verifier)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        try:
            answer = await self.guard.authorize(scope.get("headers", ()), scope.get("query_string", b""))
        except Denied as denied:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # policy violation
            else:
                headers = denied.headers()
                if denied.error:
                    headers["Content-Type"] = "application/json"
                await _respond(send, denied.status, headers, denied.body())
            return
        except Unavailable:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013})  # try again later
            else:
                body = json.dumps({"error": "temporarily_unavailable",
                                   "error_description": "The token could not be checked; try again."}).encode()
                await _respond(send, 503, {"Content-Type": "application/json", "Retry-After": "1",
                                           "Cache-Control": "no-store"}, body)
            return
        scope.setdefault("state", {})["token"] = answer
        await self.app(scope, receive, send)
