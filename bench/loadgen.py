"""Fallback load generator: raw asyncio streams, HTTP/1.1 keep-alive, one request in flight per connection.

No HTTP client library: parsing only the status line and Content-Length leaves as much CPU as
possible to the server sharing the machine. Used when Debian's `wrk` is not installed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    latencies: list[float]  # seconds, every completed request

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def build_request(url: str, body: str, headers: dict[str, str]) -> bytes:
    parts = urlsplit(url)
    lines = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}",
             "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body.encode())}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, keep, chunked = 0, True, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value == b"close":
            keep = False
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
    if chunked:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # no trailers are sent to us
    elif length:
        await reader.readexactly(length)
    return status, keep


async def _connection(host: str, port: int, request: bytes, deadline: float, result: Result) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(request)
            status, keep = await _read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            if not 200 <= status < 300:
                result.non_2xx += 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
            result.socket_errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _run(url: str, body: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    parts = urlsplit(url)
    request = build_request(url, body, headers)
    result = Result(0, 0.0, 0, 0, [])
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_connection(parts.hostname or "127.0.0.1", parts.port or 80, request, deadline, result)
                           for _ in range(connections)))
    result.seconds = time.monotonic() - started
    return result


def run(url: str, body: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        return runner.run(_run(url, body, headers, connections, seconds))
