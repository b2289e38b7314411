"""The Prometheus pull endpoint: ``GET /metrics`` on OBSBOX_PROMETHEUS_HOST:OBSBOX_PROMETHEUS_PORT.

Served by one daemon thread in the process that configured first (the pre-fork master when
obsbox-instrument or the gunicorn hooks are used). The port is never shared (no SO_REUSEPORT):
a second process binding it would answer a share of the scrapes with its own numbers, so a busy
port is an error the caller reports. Only ``/metrics`` answers; every other path is a 404.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_log = logging.getLogger(__name__)

Exposition = Callable[[str], "tuple[bytes, str]"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__(address, handler)

    # SO_REUSEADDR only (http.server's default): a restart may rebind at once over TIME_WAIT.
    allow_reuse_address = True
    allow_reuse_port = False


class MetricsServer:
    """A started endpoint; ``address`` is the bound (host, port), useful when port 0 was asked."""

    def __init__(self, host: str, port: int, exposition: Exposition) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path.split("?", 1)[0] != "/metrics":
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

        self._server = _Server((host, port), Handler)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, name="obsbox-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)
