"""hydralite/web/one_write.py on a real Hypercorn: the response head waits for the body and leaves with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hydralite.web import one_write
from tests.hypercorn_app import connect, served


@asynccontextmanager
async def connected(app: Any) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A Hypercorn serving `app`, and one connection to it."""
    assert one_write.install() is True
    async with served(app) as (port, _, _):
        reader, writer = await connect(port)
        yield reader, writer
        writer.close()


async def test_the_head_waits_for_the_body_and_both_arrive_in_one_read():
    body_may_go = asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]})
        await body_may_go.wait()
        await send({"type": "http.response.body", "body": b"hello"})

    async with connected(app) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        try:
            early = await asyncio.wait_for(reader.read(65536), 0.3)
        except TimeoutError:
            early = b""
        assert early == b""  # without one_write the status line and headers would be here already
        body_may_go.set()
        first = await asyncio.wait_for(reader.read(65536), 5)
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b"\r\n\r\nhello")


async def test_an_interim_100_continue_is_not_held_back():
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": message.get("body", b"")[:2]})

    async with connected(app) as (reader, writer):
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 ")
        writer.write(b"ok")
        await writer.drain()
        final = await asyncio.wait_for(reader.readuntil(b"ok"), 5)
        assert final.startswith(b"HTTP/1.1 200 ")


async def test_a_response_without_a_body_is_not_held_back_while_its_end_waits():
    """web/whole_body.py ends an early answer only once the request body is in: Content-Length 0 goes at once."""
    end_may_go = asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await end_may_go.wait()
        await send({"type": "http.response.body", "body": b""})

    async with connected(app) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 401 ")
        end_may_go.set()
