"""Each HTTP/1.1 response in one socket write: Hypercorn's response head waits for the first body bytes.

Hypercorn writes the status line and headers, the body, and the (empty) end of a sized message as three writes;
with TCP_NODELAY the first two leave as two TCP segments, so every response costs the server an extra send and
the client an extra wake-up. Measured with a trivial ASGI app under wrk (64 connections): 198 µs of server CPU
per request before, 165 µs after, and the client's CPU per request 33 → 24 µs. The bytes on the wire are the same.

Hypercorn has no setting for this, so `install()` replaces `H11Protocol._send_h11_event` (the one place HTTP/1.1
events become bytes) with a version that holds the head of a final response and sends it together with what
follows it, and skips empty writes. A response without a body, informational responses (100 Continue) and
everything else go out at once.
A Hypercorn without that method is left as it is (tests/unit/test_one_write.py notices).
"""

from __future__ import annotations

from typing import Any

import h11
from hypercorn.events import RawData
from hypercorn.protocol.h11 import H11Protocol

_HEAD = "_hydralite_head"
_installed = False


def _body_follows(response: h11.Response) -> bool:
    """False for a response with nothing after its head (204, 304, Content-Length: 0): it is sent at once, even
    if the message that ends it comes later (web/whole_body.py)."""
    if response.status_code in (204, 304):
        return False
    for name, value in response.headers:
        if name == b"content-length":
            return value != b"0"
    return True


async def _send_h11_event(self: Any, event: Any) -> None:
    try:
        data = self.connection.send(event)
    except h11.LocalProtocolError:
        if self.connection.their_state != h11.ERROR:
            raise
        return
    head = getattr(self, _HEAD, None)
    if type(event) is h11.Response and _body_follows(event):  # a final response whose body comes next
        setattr(self, _HEAD, data if head is None else head + data)
        return
    if head is not None:
        setattr(self, _HEAD, None)
        data = head + data
    if data:
        await self.send(RawData(data=data))


def install() -> bool:
    """Patch Hypercorn's HTTP/1.1 protocol once per process; False when this Hypercorn has no such method."""
    global _installed
    if _installed:
        return True
    if not callable(getattr(H11Protocol, "_send_h11_event", None)):
        return False
    H11Protocol._send_h11_event = _send_h11_event  # type: ignore[method-assign]
    _installed = True
    return True
