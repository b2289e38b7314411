"""Fixtures for the deploy's local-process tests: a loopback HTTP server with a chosen status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Status(BaseHTTPRequestHandler):
    status = 200
    seen_headers: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).seen_headers.append(dict(self.headers))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


@pytest.fixture
def http_status_server() -> Iterator[tuple[str, type[_Status]]]:
    """(base URL, handler class) of a loopback server on a free port; set handler.status to change answers."""
    handler = type("Handler", (_Status,), {"status": 200, "seen_headers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
