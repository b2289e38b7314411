"""A webhook receiver in the shape Alertmanager posts to, on this machine's end of a host's veth.

It keeps every notification it decodes, so a test or the demo can wait for a given alert.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from obsbox.hosts.serve import serving

MAX_BODY_BYTES = 1 << 20


@dataclass
class Inbox:
    """Notifications received so far, as (path, payload) pairs."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def add(self, path: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.received.append((path, payload))
            self.lock.notify_all()

    def wait_for_alert(self, alertname: str, timeout: float, status: str = "firing") -> tuple[str, dict[str, Any]] | None:
        """The first notification holding `alertname` in `status`, or None at the deadline."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for path, payload in self.received:
                    for alert in payload.get("alerts", []):
                        if alert.get("labels", {}).get("alertname") == alertname and alert.get("status") == status:
                            return path, alert
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.lock.wait(timeout=min(remaining, 5.0))


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            inbox.add(self.path, payload)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver(address: str, port: int = 0) -> Iterator[tuple[str, Inbox]]:
    """Listen on address:port (a veth end); yield (base URL, inbox)."""
    inbox = Inbox()
    with serving(address, port, _handler(inbox), f"webhook-{address}") as bound:
        yield f"http://{address}:{bound}", inbox
