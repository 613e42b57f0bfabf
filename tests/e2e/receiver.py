"""A tiny HTTP server on 127.0.0.1 for the outbound calls hydralite makes in tests (back-channel logout,
sector_identifier_uri documents): it records every request and answers per path, optionally only once a
test releases it (to stand for a receiver that hangs)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    """Answers `routes[path]` = (status, content type, body); unknown paths get 200 with no body."""

    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # path -> answer only once set
    received: list[Received] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: asyncio.Server | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for gate in self.gates.values():
            gate.set()
        if self._server is not None:
            self._server.close()

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int = 1, bound: float = 20.0) -> list[Received]:
        """Wait until `count` requests reached `path` (the bound only keeps a broken test from hanging)."""
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.at(path)) >= count)
        await asyncio.wait_for(reached(), bound)
        return self.at(path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path = target.split("?", 1)[0]
            async with self._changed:
                self.received.append(Received(method, path, headers, body))
                self._changed.notify_all()
            if path in self.gates:
                await self.gates[path].wait()
            status, kind, content = self.routes.get(path, (200, "text/plain", b""))
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(content)}\r\n"
                         "Connection: close\r\n\r\n".encode() + content)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
