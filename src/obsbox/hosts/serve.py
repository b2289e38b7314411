"""HTTP served from this machine to the throwaway hosts (the mirror, the webhook receiver, the drill
target): on a veth end or the bridge address, never 0.0.0.0, in a thread, for one block."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler


@contextmanager
def serving(address: str, port: int, handler: Callable[..., BaseRequestHandler], name: str) -> Iterator[int]:
    """Serve `handler` on address:port (0: any free port) in the thread `name`; yield the port bound."""
    server = ThreadingHTTPServer((address, port), handler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
