"""A collector that is unreachable or hangs costs the demo neither latency, memory nor errors.

Three single-worker demos run side by side, exporting to a healthy receiver, to a closed port and
to a receiver that accepts and never answers; requests go round-robin in shuffled order so the
shared machine's noise hits all three alike. The receivers run in their own processes, so their
work does not steal this test's (client) interpreter.
"""

from __future__ import annotations

import http.client
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from examples.procs import ManagedProcess, child_pids, demo_env, free_port, rss_mib

ROUNDS = 1500
BLOCK = 300  # p50/p99 are taken per block of interleaved rounds, then the median over blocks
WARM_ROUNDS = 500  # RSS is sampled here too, so a failure message shows the trend
ATTEMPTS = 3  # the machine is shared: a noisy measurement is retried before failing
TOLERANCE = 1.10
QUEUE = "512"  # a small export queue, so the bound is reached early in the run
# Production-like export pacing (the SDK's span and log defaults), not the other tests' fast one;
# metrics every 5 s so their export to a dead collector happens within the run too.
PACING = {
    "OTEL_BSP_SCHEDULE_DELAY": "5000",
    "OTEL_BLRP_SCHEDULE_DELAY": "1000",
    "OTEL_METRIC_EXPORT_INTERVAL": "5000",
}
# What a full 512-item queue per signal plus the exporters' retry state may cost over the healthy
# worker; a worker buffering everything it cannot send would keep growing past it.
MAX_EXTRA_MIB = 16.0
MODES = ("healthy", "closed", "hang")


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    d = tmp_path_factory.mktemp("receivers")
    procs = []
    endpoints = {"closed": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    try:
        for mode, extra in (("healthy", []), ("hang", ["--hang"])):
            port = free_port()
            argv = [sys.executable, "-m", "examples.otlp_receiver", "--port", str(port), "--quiet", *extra]
            proc = ManagedProcess(f"receiver-{mode}", argv, demo_env(), d / f"{mode}.log").start()
            procs.append(proc)
            _wait_listening(proc, port)
            endpoints[mode] = f"http://127.0.0.1:{port}"
        yield endpoints
    finally:
        for p in procs:
            p.stop()


def _wait_listening(proc: ManagedProcess, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.alive(), proc.output()
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)  # readiness poll interval
    raise TimeoutError(f"receiver on {port} never listened")


def _get(port: int, path: str, tenant: str) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"X-Tenant-ID": tenant})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - t0
    finally:
        conn.close()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _robust_quantile(values: list[float], q: float) -> float:
    """The median over blocks of the block's q-quantile: one burst of machine noise moves one block only."""
    blocks = [values[i : i + BLOCK] for i in range(0, len(values), BLOCK)]
    return statistics.median(_quantile(b, q) for b in blocks if len(b) == BLOCK)


@pytest.fixture(scope="module")
def runs(receivers: dict[str, str], start_demo: Callable[..., Any]) -> dict[str, Any]:
    """Measure the three demos until one attempt meets the latency bound (at most ATTEMPTS)."""
    demos = {
        mode: start_demo(
            receivers[mode],
            workers=1,
            OBSBOX_MAX_QUEUE_SIZE=QUEUE,
            OTEL_BSP_MAX_QUEUE_SIZE=QUEUE,
            OTEL_BLRP_MAX_QUEUE_SIZE=QUEUE,
            **PACING,
        )
        for mode in MODES
    }
    ports = {mode: int(d.url.rsplit(":", 1)[1]) for mode, d in demos.items()}
    workers = {}
    for mode, d in demos.items():
        kids = child_pids(d.process.proc.pid)
        assert len(kids) == 1, kids
        workers[mode] = kids[0]
    rng = random.Random(5)
    attempts = []
    statuses: dict[str, set[int]] = {m: set() for m in MODES}
    for _ in range(ATTEMPTS):
        lat: dict[str, list[float]] = {m: [] for m in MODES}
        rss_warm: dict[str, float] = {}
        for i in range(ROUNDS):
            if i == WARM_ROUNDS:
                rss_warm = {m: rss_mib(workers[m]) for m in MODES}
            order = list(MODES)
            rng.shuffle(order)
            for mode in order:
                status, seconds = _get(ports[mode], "/v1/invoices", f"tenant-{i % 40:04d}")
                statuses[mode].add(status)
                lat[mode].append(seconds)
        rss_end = {m: rss_mib(workers[m]) for m in MODES}
        q = {m: (_robust_quantile(lat[m], 0.5), _robust_quantile(lat[m], 0.99)) for m in MODES}
        attempts.append({"q": q, "rss_warm": rss_warm, "rss_end": rss_end})
        if all(
            q[m][0] <= q["healthy"][0] * TOLERANCE and q[m][1] <= q["healthy"][1] * TOLERANCE for m in MODES
        ):
            break
    return {"demos": demos, "attempts": attempts, "statuses": statuses}


def _fmt(attempts: list[dict[str, Any]]) -> str:
    return "; ".join(
        " ".join(f"{m}: p50={v[0] * 1e3:.2f}ms p99={v[1] * 1e3:.2f}ms" for m, v in a["q"].items())
        for a in attempts
    )


def _metric(page: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in page.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("mode", ["closed", "hang"])
def test_latency_stays_within_ten_percent_of_healthy(runs: dict[str, Any], mode: str) -> None:
    """p50 and p99 request latency with a failing collector stay within 10% of the healthy run."""
    q = runs["attempts"][-1]["q"]
    assert q[mode][0] <= q["healthy"][0] * TOLERANCE, _fmt(runs["attempts"])
    assert q[mode][1] <= q["healthy"][1] * TOLERANCE, _fmt(runs["attempts"])


@pytest.mark.parametrize("mode", ["closed", "hang"])
def test_memory_stays_bounded(runs: dict[str, Any], mode: str) -> None:
    """The worker holds at most a bounded queue more than the healthy one and drops what it cannot send."""
    last = runs["attempts"][-1]
    extra = last["rss_end"][mode] - last["rss_end"]["healthy"]
    assert extra < MAX_EXTRA_MIB, f"{mode} uses {extra:.1f} MiB more than healthy: {last}"
    page = runs["demos"][mode].scrape()
    assert _metric(page, "obsbox_telemetry_export_failures_total") > 0, "the collector never failed?"
    assert _metric(page, "obsbox_telemetry_dropped_total") > 0, "nothing dropped: is it buffering everything?"


@pytest.mark.parametrize("mode", MODES)
def test_no_exception_reaches_the_app(runs: dict[str, Any], mode: str) -> None:
    """Every request succeeds and the app's error handler never saw an exception."""
    assert runs["statuses"][mode] == {200}, runs["statuses"][mode]
    port = int(runs["demos"][mode].url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/admin/stats")
    body = conn.getresponse().read().decode()
    conn.close()
    assert re.search(r'"unhandled_exceptions":\s*0\b', body), body
    output = runs["demos"][mode].process.output()
    at = output.find("Traceback")
    assert at < 0, output[max(0, at - 500) : at + 2500]


def test_healthy_receiver_really_received(runs: dict[str, Any], receivers: dict[str, str]) -> None:
    """The baseline run exported for real: its export-failure counter stays at zero."""
    page = runs["demos"]["healthy"].scrape()
    assert _metric(page, "http_server_request_duration_seconds_count", http_route="/v1/invoices") >= ROUNDS
    assert _metric(page, "obsbox_telemetry_export_failures_total") == 0
