"""hydralite/web/keep_alive.py on a real Hypercorn: idle keep-alive connections close after the timeout, busy ones
stay, and a shutting-down server closes its idle connections at once."""

from __future__ import annotations

import asyncio

import pytest

from hydralite.web import keep_alive
from tests.hypercorn_app import connect, served

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(autouse=True)
def installed():
    assert keep_alive.install() is True


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(REQUEST)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return head + await asyncio.wait_for(reader.readexactly(2), 5)


async def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_a_busy_one_stays_open():
    async with served(app, keep_alive_timeout=0.5, graceful_timeout=30) as (port, _, _):
        reader, writer = await connect(port)
        for _ in range(4):  # 0.2 s apart: never idle for 0.5 s
            assert (await get(reader, writer)).endswith(b"\r\n\r\nok")
            await asyncio.sleep(0.2)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # then idle: closed by the server
        writer.close()


async def test_a_shutting_down_server_closes_its_idle_connections_at_once():
    async with served(app, keep_alive_timeout=30, graceful_timeout=30) as (port, stop, task):
        reader, writer = await connect(port)
        assert (await get(reader, writer)).endswith(b"ok")
        stop.set()
        await asyncio.wait_for(task, 5)  # not after the 30 s keep-alive timeout
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
