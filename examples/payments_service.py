"""The demo's "payments" dependency: a tiny HTTP service the demo calls for payment status.

    python -m examples.payments_service --port 8081

GET /payments/<invoice_id>?tenant=T answers JSON. A request header ``X-Delay-Ms`` makes it wait
that long first (bounded), which is how the demo's fault switches make the dependency slow
enough to time out; ``X-Fail-Status`` makes it answer with that error status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_DELAY_MS = 30_000
STATES = ("paid", "pending", "overdue")


class PaymentsServer:
    """The payments service on host:port (port 0 picks a free one) in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler(self._stop))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> PaymentsServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="payments", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._stop.set()  # wakes delayed handlers
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PaymentsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def payment_for(tenant: str, invoice_id: str) -> dict[str, Any]:
    """A stable fake payment record: the same invoice always has the same state."""
    h = zlib.crc32(f"{tenant}/{invoice_id}".encode())
    return {"invoice_id": invoice_id, "tenant": tenant, "state": STATES[h % 3], "amount_cents": h % 100_000}


def _handler(stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            segments = [s for s in parts.path.split("/") if s]
            try:
                delay_ms = min(float(self.headers.get("X-Delay-Ms") or 0), MAX_DELAY_MS)
                fail = int(self.headers.get("X-Fail-Status") or 0)
            except ValueError:
                self._json(400, {"error": "X-Delay-Ms and X-Fail-Status must be numbers"})
                return
            if delay_ms > 0:
                stop.wait(delay_ms / 1000.0)  # injected dependency latency, cut short on shutdown
            if fail:
                self._json(fail, {"error": "injected failure"})
                return
            if parts.path == "/healthz":
                self._json(200, {"status": "ok"})
                return
            if len(segments) != 2 or segments[0] != "payments":
                self._json(404, {"error": f"no route {parts.path}"})
                return
            tenant = parse_qs(parts.query).get("tenant", [""])[0]
            if not tenant:
                self._json(400, {"error": "tenant query parameter is required"})
                return
            self._json(200, payment_for(tenant, segments[1]))

        def _json(self, code: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up (its timeout); nothing to tell it

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the demo's payments dependency")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    server = PaymentsServer(args.host, args.port)
    print(f"payments service on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
