"""A threaded HTTP server on 127.0.0.1 serving fixed documents by path, counting the GETs per path: the
`jwks_uri` and `request_uri` documents that hydralite fetches in tests."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class DocumentServer:
    """`documents[path]` answered 200 with `content_type`; unknown paths 404."""

    def __init__(self, content_type: str) -> None:
        self.documents: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.hits[self.path] += 1
                body = owner.documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, body: bytes, prefix: str = "/doc") -> str:
        """A new path serving `body`; returns its URL."""
        path = f"{prefix}/{uuid.uuid4().hex}"
        self.documents[path] = body
        return self.base + path

    def count(self, url: str) -> int:
        return self.hits[url.removeprefix(self.base)]

    @property
    def total(self) -> int:
        return sum(self.hits.values())


@contextmanager
def serving(server: DocumentServer) -> Iterator[DocumentServer]:
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
