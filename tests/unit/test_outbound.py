"""engine/outbound.py: the address policy, size and time limits of every outbound call, against a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hydralite import config
from hydralite.engine.outbound import Outbound, OutboundError


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    path = request.split(b" ", 2)[1]
    if path == b"/slow":
        await asyncio.sleep(5)
    body = b'{"ok": true}' if path != b"/big" else b"[" + b"1," * 600_000 + b"1]"
    status = b"404 Not Found" if path == b"/missing" else b"200 OK"
    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    writer.close()


@pytest.fixture
async def base() -> AsyncIterator[str]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()


def _outbound(**env: str) -> Outbound:
    return Outbound(config.load({"DEV": "1", **env}))


async def test_json_document_is_fetched(base: str) -> None:
    outbound = _outbound()
    assert await outbound.get_json(base + "/doc") == {"ok": True}
    await outbound.aclose()


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "ftp://example.com/",
                                 "file:///etc/passwd", "http:///nohost", "http://[::ffff:169.254.169.254]/"])
async def test_refused_addresses_are_never_called(url: str) -> None:
    with pytest.raises(OutboundError):
        await _outbound().get_json(url)


async def test_private_ranges_refused_when_configured_except_listed_urls(base: str) -> None:
    strict = _outbound(CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES="true")
    with pytest.raises(OutboundError, match="may not be called"):
        await strict.get_json(base + "/doc")
    allowed = _outbound(CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES="true",
                        CLIENTS_HTTP_PRIVATE_IP_EXCEPTION_URLS=base + "/doc")
    assert await allowed.get_json(base + "/doc") == {"ok": True}
    with pytest.raises(OutboundError):
        await allowed.get_json(base + "/other")
    await allowed.aclose()


async def test_oversized_slow_and_failing_answers_are_errors(base: str) -> None:
    outbound = _outbound()
    with pytest.raises(OutboundError, match="larger than"):
        await outbound.get_json(base + "/big", max_bytes=100_000)
    with pytest.raises(OutboundError, match="within"):
        await outbound.get_json(base + "/slow", timeout=0.3)
    with pytest.raises(OutboundError, match="answered 404"):
        await outbound.get_json(base + "/missing")
    await outbound.aclose()
