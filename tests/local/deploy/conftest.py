"""Fixtures for the deploy's local-process tests: loopback HTTP servers (one with a chosen status)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve handler on a free loopback port in a thread; yield the base URL, stop and join at exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def serve_loopback() -> Callable[[type[BaseHTTPRequestHandler]], AbstractContextManager[str]]:
    """``with serve_loopback(Handler) as base_url:`` a loopback server on a free port for the block."""
    return _serving


@pytest.fixture
def http_status_server() -> Iterator[tuple[str, type[_Status]]]:
    """(base URL, handler class) of a loopback server on a free port; set handler.status to change answers."""
    handler = type("Handler", (_Status,), {"status": 200, "seen_headers": []})
    with _serving(handler) as base_url:
        yield base_url, handler
