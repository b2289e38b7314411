"""The Prometheus pull endpoint: ``GET /metrics`` on OBSBOX_PROMETHEUS_HOST:OBSBOX_PROMETHEUS_PORT.

Served by one daemon thread in the process that configured first (the pre-fork master when
obsbox-instrument or the gunicorn hooks are used). The socket sets SO_REUSEPORT so that, when
every worker configures on its own, each worker can bind the same port and the kernel spreads
scrapes over them; every one answers with the same aggregated multiprocess view.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_log = logging.getLogger(__name__)

Exposition = Callable[[str], "tuple[bytes, str]"]


class _ReusePortServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__(address, handler)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class MetricsServer:
    """A started endpoint; ``address`` is the bound (host, port), useful when port 0 was asked."""

    def __init__(self, host: str, port: int, exposition: Exposition) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404, "only /metrics here")
                    return
                try:
                    body, content_type = exposition(self.headers.get("Accept", ""))
                except Exception:
                    _log.exception("obsbox: building the metrics page failed")
                    self.send_error(500, "collecting metrics failed")
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every 15 s would flood the service's logs

        self._server = _ReusePortServer((host, port), Handler)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, name="obsbox-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)
