"""A response is completed only after the request body has arrived, so the keep-alive connection stays usable.

Hypercorn reuses an HTTP/1.1 connection only if the request has been received to its end when the response
ends; otherwise it closes the connection, and a client that sends its next request on it (httpx, urllib3, the
Hydra SDKs) gets "server disconnected". That happens whenever a handler answers before the body is in: a 401
or 404 sent without reading the body. Go's net/http, which Hydra uses, reads the rest of an unread body after
the handler for the same reason. Here such a response is sent at once, but the message that ends it waits for
the request body (read and dropped: at most DRAIN_LIMIT bytes within DRAIN_SECONDS, else Hypercorn closes
the connection as before), so Hypercorn sees the request complete when the response completes. Streaming
responses, which read `receive` themselves while they send, are not wrapped here (none is).
Requests without a body, and handlers that read theirs (the token and introspection endpoints), pay one scan
of the headers.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: As Go's net/http: at most this much of an unread body is read to keep the connection, within DRAIN_SECONDS.
DRAIN_LIMIT = 256 << 10
DRAIN_SECONDS = 2.0


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class WholeBody:
    """Holds the end of a response (not its bytes) until the request body has been received (see above)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _declares_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        received = False  # the request body has been seen to its end (or the client went away)

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                received = True
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal received
            if not received and message["type"] == "http.response.body" and not message.get("more_body", False):
                received = True
                # The client has the whole (sized) response now; the message that ends it follows the body.
                await send({**message, "more_body": True})
                seen = 0
                with contextlib.suppress(TimeoutError):  # past the limits Hypercorn closes the connection
                    async with asyncio.timeout(DRAIN_SECONDS):
                        while seen <= DRAIN_LIMIT:
                            rest = await receive()
                            if rest["type"] != "http.request" or not rest.get("more_body", False):
                                break
                            seen += len(rest.get("body", b""))
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
