"""A bounded OTLP/HTTP span sender and collector-telemetry reader for the gateway fault test.

Spans are sent as OTLP/JSON (the receiver's own encoding option), each in a trace of its own, so
the load-balancing exporter spreads them over every gateway by trace id. What "sent" means is
exact: the spans of every request the agent answered 200. Stdlib only: it runs on this machine.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterable

SERVICE = "ha-drill-spans"


def trace_batch(count: int, now_ns: int) -> dict[str, object]:
    """An OTLP/JSON traces request holding `count` root spans, each in its own trace (pure but for ids)."""
    spans = [
        {
            "traceId": os.urandom(16).hex(),
            "spanId": os.urandom(8).hex(),
            "name": "ha-drill",
            "kind": 2,
            "startTimeUnixNano": str(now_ns - 1_000_000),
            "endTimeUnixNano": str(now_ns),
        }
        for _ in range(count)
    ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE}}]},
                "scopeSpans": [{"scope": {"name": "obsbox.hosts.spans"}, "spans": spans}],
            }
        ]
    }


def send_spans(url: str, token: str, batches: int, per_batch: int, pause_s: float = 0.1) -> int:
    """POST `batches` requests of `per_batch` spans to an OTLP/HTTP /v1/traces URL; return how
    many spans were accepted (answered 200). Bounded: exactly `batches` requests, no retry."""
    accepted = 0
    for _ in range(batches):
        body = json.dumps(trace_batch(per_batch, time.time_ns())).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    accepted += per_batch
        except (urllib.error.URLError, TimeoutError):
            pass
        time.sleep(pause_s)
    return accepted


def parse_counters(exposition: str, names: Iterable[str]) -> dict[str, float]:
    """{name: sum over its series} from a Prometheus text exposition (pure); absent names are 0."""
    wanted = dict.fromkeys(names, 0.0)
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted:
            wanted[name] += float(line.rsplit(" ", 1)[1])
    return wanted


def read_counters(url: str, names: Iterable[str], series_filter: str = "") -> dict[str, float]:
    """Counters from a collector's own /metrics, only series whose line contains series_filter."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    if series_filter:
        text = "\n".join(line for line in text.splitlines() if series_filter in line)
    return parse_counters(text, names)
