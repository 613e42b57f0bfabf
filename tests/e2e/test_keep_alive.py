"""A keep-alive connection stays usable after an answer given before the request body arrived
(hydralite/web/whole_body.py): the answer is not held back, and the client's next request on the connection is
served, as Go's net/http (Hydra) does."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


async def open_raw(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return status, await asyncio.wait_for(reader.readexactly(length), 10)


async def test_an_answer_before_the_body_is_sent_at_once_and_the_connection_serves_the_next_request(server):
    reader, writer = await open_raw(server.public_url)
    try:
        writer.write(b"POST /no-such-endpoint HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 11\r\n\r\n")
        await writer.drain()
        status, _ = await read_response(reader)  # answered without waiting for the body
        assert status == 404
        await asyncio.sleep(0.2)
        writer.write(b'{"a": true}')  # the body the handler never read
        writer.write(b"GET /health/alive HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        status, body = await read_response(reader)
        assert status == 200 and b'"ok"' in body
    finally:
        writer.close()
