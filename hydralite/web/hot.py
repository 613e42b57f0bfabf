"""The hot paths as raw ASGI: `POST /oauth2/token` (public) and `POST /admin/oauth2/introspect` (admin).

A profile of both endpoints under load showed Starlette's layers (exception middlewares, router, Request,
Headers, Response objects) as the largest share of hydralite's own time. Here the two endpoints read the
urlencoded form straight from the receive channel, call the same engine functions as the Starlette routes
(engine/token.py `exchange`, engine/introspection.py `introspect`) and answer with orjson and prebuilt
headers. Everything around them is unchanged: HotPaths sits inside path normalisation, the request
instrument and CORS (as the Starlette app did), sets `scope["route"]` as Starlette's router would (metrics
and tracing name the route template from it), and takes the tracing middleware through `add_middleware`.

What is not the plain case goes to the Starlette routes, which answer exactly as before: another method or
path, a multipart or other body type. Errors are rendered by the same functions the apps' handlers use.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from hydralite.engine import introspection, token
from hydralite.engine.core import Engine
from hydralite.errors import APIError, InvalidRequest, OAuthError, ServerError
from hydralite.ops import metrics
from hydralite.web.common import (
    FORM_TYPE,
    MAX_BODY,
    MAX_DRAIN,
    OAUTH_JSON,
    BodyTooLarge,
    PathNormalizer,
    error_response,
    parse_urlencoded,
)

log = logging.getLogger("hydralite.web")

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
_FORM = FORM_TYPE.encode()
#: oauth_json's headers (web/common.py) before the content length, built once.
_OAUTH_HEADERS = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"), (b"content-type", OAUTH_JSON.encode()))


@dataclass(frozen=True, slots=True)
class HotRoute:
    """What the instrument and tracing read from `scope["route"]`: the route template."""

    path: str


TOKEN_ROUTE = HotRoute("/oauth2/token")
INTROSPECT_ROUTE = HotRoute("/admin/oauth2/introspect")


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


def _is_form(scope: Scope) -> bool:
    """The first Content-Type is application/x-www-form-urlencoded (parameters allowed), as read_form sees it."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == _FORM
    return False


async def _drain(receive: Receive, size: int) -> None:
    """web/common.py's _drain on the receive channel: read and drop a moderately oversized body so the client
    sees the 413 instead of a reset connection."""
    if size > MAX_DRAIN:
        return
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if seen > MAX_DRAIN or not message.get("more_body", False):
            return


async def read_form(scope: Scope, receive: Receive) -> tuple[dict[str, list[str]], str | None]:
    """The urlencoded form (same limits and errors as web/common.py read_form) and the first Authorization."""
    length = authorization = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is None:
                length = value
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    if length is not None:
        try:
            declared = int(length.decode("latin-1"))
        except ValueError as exc:
            raise InvalidRequest("The Content-Length header is invalid.") from exc
        if declared > MAX_BODY:
            await _drain(receive, declared)
            raise BodyTooLarge()
    message = await receive()
    if message["type"] != "http.request":
        raise ClientGone()
    body = message.get("body", b"")
    if message.get("more_body", False):  # a body in several pieces: gather them, bounded
        chunks = bytearray(body)
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone()
            chunks += message.get("body", b"")
            more = message.get("more_body", False)
            if len(chunks) > MAX_BODY:
                if more:
                    await _drain(receive, len(chunks))
                raise BodyTooLarge()
        body = bytes(chunks)
    elif len(body) > MAX_BODY:
        raise BodyTooLarge()
    if not body:
        raise InvalidRequest("The POST body can not be empty.")
    return parse_urlencoded(body), authorization


async def _ok(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [*_OAUTH_HEADERS, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _endpoint(route: HotRoute, work: Callable[[Scope, Receive], Awaitable[bytes]], *, oauth: bool,
              expose: bool) -> Handler:
    """A raw handler: `work` reads the request and returns the 200 body; errors are rendered as the port's
    Starlette app renders them (web/common.py error_response)."""

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        try:
            body = await work(scope, receive)
        except ClientGone:
            return
        except (OAuthError, APIError) as exc:
            await error_response(exc, oauth=oauth, expose_debug=expose)(scope, receive, send)
            return
        except Exception as exc:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            crash = ServerError(debug=type(exc).__name__)
            await error_response(crash, oauth=oauth, expose_debug=expose)(scope, receive, send)
            raise  # as Starlette's ServerErrorMiddleware: answered, then raised to the server
        await _ok(send, body)

    return handle


def token_endpoint(engine: Engine) -> Handler:
    """public.py's token_endpoint, raw."""

    async def work(scope: Scope, receive: Receive) -> bytes:
        form, authorization = await read_form(scope, receive)
        result = await token.exchange(engine, form, authorization)
        metrics.token_issued(form["grant_type"][0].strip(" "))  # a grant the engine knows, or it raised
        return orjson.dumps(result.to_dict())

    return _endpoint(TOKEN_ROUTE, work, oauth=True, expose=engine.config.expose_internal_errors)


def introspect_endpoint(engine: Engine) -> Handler:
    """admin_tokens.py's introspect, raw; errors in the admin API's wire format, as the admin app renders them."""

    async def work(scope: Scope, receive: Receive) -> bytes:
        form, _ = await read_form(scope, receive)
        return orjson.dumps(await introspection.introspect(engine, form))

    return _endpoint(INTROSPECT_ROUTE, work, oauth=False, expose=engine.config.expose_internal_errors)


class HotPaths:
    """Routes `POST <path>` with a urlencoded body to its raw handler and everything else to `app`."""

    def __init__(self, app: ASGIApp, handlers: dict[str, Handler]):
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.handlers.get(scope["path"])
            if handler is not None and _is_form(scope):
                await handler(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def add_middleware(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        """Starlette's add_middleware, for the raw handlers too (tracing installs itself through it)."""
        self.handlers = {path: cls(handler, *args, **kwargs) for path, handler in self.handlers.items()}
        add = getattr(self.app, "add_middleware", None)
        if add is not None:
            add(cls, *args, **kwargs)


def install(app: ASGIApp, name: str, engine: Engine) -> ASGIApp:
    """Put HotPaths inside the app's PathNormalizer (so it sees `/admin/…` on the admin port, with or without
    the prefix on the wire, and no trailing slash), in front of the Starlette app of port `name`."""
    handlers = {"public": {TOKEN_ROUTE.path: token_endpoint(engine)},
                "admin": {INTROSPECT_ROUTE.path: introspect_endpoint(engine)}}.get(name)
    if not handlers or not isinstance(app, PathNormalizer):
        return app
    app.app = HotPaths(app.app, handlers)
    return app


__all__ = ["HotPaths", "HotRoute", "install", "read_form"]
