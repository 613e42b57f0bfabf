"""A Hypercorn serving a test ASGI app on a free loopback port, for the tests of our Hypercorn adaptations."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config


@asynccontextmanager
async def served(app: Any, **settings: Any) -> AsyncIterator[tuple[int, asyncio.Event, asyncio.Task[None]]]:
    """(port, stop event, server task); `settings` are Hypercorn Config attributes. Stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    for name, value in settings.items():
        setattr(config, name, value)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        yield port, stop, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 40)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection, retried while the server starts."""
    for _ in range(100):
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not start")
