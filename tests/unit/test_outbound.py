"""engine/outbound.py: the address policy, size and time limits of every outbound call, against a real socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson
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


async def _echo_host(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers the Host header the request carried, as JSON."""
    request = await reader.readuntil(b"\r\n\r\n")
    host = next((line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                 if line.lower().startswith(b"host:")), b"")
    body = orjson.dumps({"host": host.decode()})
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    writer.close()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo_host, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_a_hostname_is_called_at_its_checked_address_with_its_host_header(echo_port: int) -> None:
    outbound = _outbound()
    assert await outbound.get_json(f"http://localhost:{echo_port}/doc") == {"host": f"localhost:{echo_port}"}
    await outbound.aclose()


async def test_a_rebinding_host_is_not_resolved_again_after_the_check(echo_port: int,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that answers 127.0.0.1 to the check and 127.0.0.2 (where nothing listens) to any later lookup.

    Patching the loop's getaddrinfo is only a seam for DNS, which cannot be made to rebind on this machine; the
    request itself goes over a real socket. Without pinning, httpx would resolve the name again and fail to connect.
    """
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    outbound = _outbound()
    assert await outbound.get_json(f"http://rebind.test:{echo_port}/doc") == {"host": f"rebind.test:{echo_port}"}
    assert lookups == ["rebind.test"]
    await outbound.aclose()


async def test_checked_addresses_are_tried_in_order(echo_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first checked address refuses the connection, the second answers (same DNS seam as above)."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def two(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "two.test":
            return await real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port)))
                for a in ("127.0.0.2", "127.0.0.1")]

    monkeypatch.setattr(loop, "getaddrinfo", two)
    outbound = _outbound()
    assert await outbound.get_json(f"http://two.test:{echo_port}/") == {"host": f"two.test:{echo_port}"}
    await outbound.aclose()
