"""A load generator for the demo service, bounded in count and time.

    python -m examples.loadgen --url http://127.0.0.1:8000 --max-requests 2000 --duration 60 \\
        --rps 50 --tenants 100 --routes v1_list:5,v1_get:3,v2_list:2,v2_report:1

Tenants are ``tenant-0001``.. with a Zipf-like skew (a few big tenants, a long tail), as in a
real B2B SaaS. Also a function: ``run_load(url, ...)`` returns a :class:`Summary`. Standard
library only, so it runs on a throwaway host without the venv.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# name -> (method, path template, JSON body or None); {invoice} is filled per request
ROUTES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "v1_list": ("GET", "/v1/invoices", None),
    "v1_get": ("GET", "/v1/invoices/{invoice}", None),
    "v2_list": ("GET", "/v2/invoices?limit=10", None),
    "v2_report": ("POST", "/v2/reports", {"kind": "revenue"}),
    "v2_render": ("POST", "/v2/invoices/{invoice}/render", None),
    "ping": ("GET", "/ping", None),
    "healthz": ("GET", "/healthz", None),
}
DEFAULT_MIX = "v1_list:5,v1_get:3,v2_list:2,v2_report:1"
MAX_REQUESTS_LIMIT = 10_000_000
MAX_DURATION_S = 24 * 3600.0


class LoadgenError(ValueError):
    """Bad load generator arguments; the message says which."""


@dataclass
class Summary:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    by_tenant: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of latency in seconds, nearest-rank; 0 when nothing was sent."""
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        idx = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[idx]

    def line(self) -> str:
        statuses = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))
        return (
            f"sent={self.sent} elapsed={self.elapsed_s:.1f}s statuses[{statuses}] "
            f"p50={self.percentile(0.5) * 1000:.1f}ms p99={self.percentile(0.99) * 1000:.1f}ms"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "elapsed_s": round(self.elapsed_s, 3),
            "statuses": dict(self.statuses),
            "by_route": dict(self.by_route),
            "p50_ms": round(self.percentile(0.5) * 1000, 3),
            "p99_ms": round(self.percentile(0.99) * 1000, 3),
        }


def parse_mix(spec: str) -> list[tuple[str, float]]:
    """``name:weight,...`` into (route name, weight) pairs; raises LoadgenError on bad input."""
    mix = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, weight_s = item.partition(":")
        if name not in ROUTES:
            raise LoadgenError(f"unknown route {name!r} in --routes; known: {', '.join(ROUTES)}")
        try:
            weight = float(weight_s) if weight_s else 1.0
        except ValueError:
            raise LoadgenError(f"weight of {name!r} must be a number, got {weight_s!r}") from None
        if weight < 0:
            raise LoadgenError(f"weight of {name!r} must be >= 0")
        mix.append((name, weight))
    if not mix or sum(w for _, w in mix) <= 0:
        raise LoadgenError("--routes needs at least one route with a positive weight")
    return mix


def tenant_names(n: int) -> list[str]:
    return [f"tenant-{i:04d}" for i in range(1, n + 1)]


def tenant_weights(n: int, skew: float) -> list[float]:
    """Zipf weights 1/k^skew: skew 0 is uniform, about 1 is a typical SaaS tenant distribution."""
    return [1.0 / (k**skew) for k in range(1, n + 1)]


class _Plan:
    """Hands out request tickets until the count or the time runs out, paced to a rate."""

    def __init__(self, max_requests: int, duration_s: float, rps: float) -> None:
        self._lock = threading.Lock()
        self._issued = 0
        self.max_requests = max_requests
        self.start = time.monotonic()
        self.deadline = self.start + duration_s
        self.interval = 1.0 / rps if rps > 0 else 0.0
        self._stop = threading.Event()

    def next_ticket(self) -> int | None:
        with self._lock:
            if self._issued >= self.max_requests:
                return None
            n = self._issued
            self._issued += 1
        due = self.start + n * self.interval
        if due >= self.deadline:
            return None
        wait = due - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)  # pacing to the requested rate
        return None if time.monotonic() >= self.deadline else n


def run_load(
    url: str,
    *,
    max_requests: int = 1000,
    duration_s: float = 60.0,
    rps: float = 0.0,
    tenants: int = 10,
    skew: float = 1.1,
    routes: str | Sequence[tuple[str, float]] = DEFAULT_MIX,
    concurrency: int = 4,
    timeout_s: float = 10.0,
    headers: Mapping[str, str] | None = None,
    seed: int | None = None,
) -> Summary:
    """Send at most max_requests requests within duration_s seconds; returns what happened."""
    if not 1 <= max_requests <= MAX_REQUESTS_LIMIT:
        raise LoadgenError(f"max_requests must be within 1..{MAX_REQUESTS_LIMIT}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise LoadgenError(f"duration must be within (0, {MAX_DURATION_S:.0f}] seconds")
    if rps < 0 or tenants < 1 or concurrency < 1 or timeout_s <= 0 or skew < 0:
        raise LoadgenError("rps >= 0, tenants >= 1, concurrency >= 1, timeout > 0 and skew >= 0 are required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadgenError(f"--url must be http(s)://host[:port], got {url!r}")
    mix = parse_mix(routes) if isinstance(routes, str) else list(routes)
    names = [n for n, _ in mix]
    weights = [w for _, w in mix]
    tnames = tenant_names(tenants)
    tweights = tenant_weights(tenants, skew)
    plan = _Plan(max_requests, duration_s, rps)
    summary = Summary()
    lock = threading.Lock()
    base_path = parts.path.rstrip("/")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection

    def worker(idx: int) -> None:
        rng = random.Random(None if seed is None else seed * 1000 + idx)
        conn = conn_cls(parts.hostname, parts.port, timeout=timeout_s)  # type: ignore[arg-type]
        try:
            while plan.next_ticket() is not None:
                route = rng.choices(names, weights)[0]
                tenant = rng.choices(tnames, tweights)[0]
                method, path, body = ROUTES[route]
                path = base_path + path.format(invoice=f"inv-{rng.randint(1, 25):04d}")
                hdrs = {"X-Tenant-ID": tenant, **(headers or {})}
                payload = None
                if body is not None:
                    payload = json.dumps(body).encode()
                    hdrs["Content-Type"] = "application/json"
                t0 = time.perf_counter()
                try:
                    conn.request(method, path, body=payload, headers=hdrs)
                    resp = conn.getresponse()
                    resp.read()
                    status = str(resp.status)
                    if resp.will_close:
                        conn.close()
                except (OSError, http.client.HTTPException) as exc:
                    status = f"error:{type(exc).__name__}"
                    conn.close()  # a fresh connection for the next request
                elapsed = time.perf_counter() - t0
                with lock:
                    summary.sent += 1
                    summary.statuses[status] += 1
                    summary.by_route[route] += 1
                    summary.by_tenant[tenant] += 1
                    summary.latencies_s.append(elapsed)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        # bounded: every worker stops at the deadline plus one request timeout
        t.join(timeout=duration_s + timeout_s + 5)
    summary.elapsed_s = time.monotonic() - plan.start
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="load generator for the obsbox demo service")
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--max-requests", type=int, default=1000)
    p.add_argument("--duration", type=float, default=60.0, help="seconds")
    p.add_argument(
        "--rps", type=float, default=0.0, help="target requests per second (0 = as fast as possible)"
    )
    p.add_argument("--tenants", type=int, default=10)
    p.add_argument("--skew", type=float, default=1.1, help="Zipf exponent of the tenant distribution")
    p.add_argument("--routes", default=DEFAULT_MIX, help=f"name:weight,... of {', '.join(ROUTES)}")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    p.add_argument("--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    headers = {}
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            p.error(f"--header must be 'Name: value', got {h!r}")
        headers[name.strip()] = value.strip()
    try:
        summary = run_load(
            args.url,
            max_requests=args.max_requests,
            duration_s=args.duration,
            rps=args.rps,
            tenants=args.tenants,
            skew=args.skew,
            routes=args.routes,
            concurrency=args.concurrency,
            timeout_s=args.timeout,
            headers=headers,
            seed=args.seed,
        )
    except LoadgenError as exc:
        p.error(str(exc))
    print(json.dumps(summary.to_json()) if args.json else summary.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
