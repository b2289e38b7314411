"""Does the collector turn obsbox's delta OTLP metrics into correct cumulative series? Exact request
counts where a delta stream has an idle export interval and where two pre-fork workers share one
service.instance.id (obsbox's defaults), and with cumulative temporality for contrast.

Why obsbox's collector config puts `deltatocumulative` before the prometheus exporter: on its own
(collector 0.161) the exporter adds a delta point to its running total only when the point's start
time equals the previous point's time (accumulator.go: "Misaligned starting timestamps"; anything
else is taken for a restart). The Python SDK sends no point for an export interval without
measurements but still moves the next point's start, and two workers interleave their points, so
without the processor both cases lost requests (7 of 17; 11 to 39 of 40). With it the idle
interval is exact; several workers sharing one identity are still not (an expected failure below).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from collector_stack import DATA_TIMEOUT_S, App, Stack

from examples.procs import wait_until

FIRST, SECOND = 10, 7
# After every request's span has reached Tempo, the metric points went out too (1 s export, 5 s
# collector batch, 1 s scrape): this is how long the last count may still take to show.
SETTLE_S = 20.0
MISALIGNED = "Misaligned starting timestamps"


def _count(stack: Stack, job: str) -> float | None:
    return stack.value(f'sum(http_server_request_duration_seconds_count{{job="{job}",http_route!="/healthz"}})')


def _server_spans(stack: Stack, job: str) -> int:
    return sum(1 for s in stack.tempo.spans() if s.kind == 2 and s.resource.get("service.name") == job and s.attributes.get("http.route") != "/healthz")


def _exact(stack: Stack, job: str, sent: int) -> None:
    """Every request's span reached Tempo, and the count reaches exactly `sent`."""
    assert wait_until(lambda: _server_spans(stack, job) >= sent, DATA_TIMEOUT_S), _server_spans(stack, job)
    wait_until(lambda: _count(stack, job) == sent, SETTLE_S, interval=0.5)
    counted = _count(stack, job)
    assert counted == sent, f"{counted} of {sent} counted; collector says misaligned: {MISALIGNED in stack.collector.output()}"


def _two_bursts(stack: Stack, app: App, job: str, path: str) -> None:
    """FIRST requests, seen by Prometheus (several idle export intervals later), then SECOND more."""
    assert app.send(path, FIRST) == {200: FIRST}
    stack.wait_value(f'sum(http_server_request_duration_seconds_count{{job="{job}",http_route!="/healthz"}})', lambda v: v >= FIRST)
    assert app.send(path, SECOND) == {200: SECOND}


def test_cumulative_counts_survive_an_idle_interval(start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> None:
    """With cumulative temporality a single process's counts stay exact across idle export intervals."""
    stack = start_stack()
    app = start_app("fastapi", stack.otlp_endpoint, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE="cumulative")
    _two_bursts(stack, app, "payments-demo", "/v1/payments/1")
    assert wait_until(lambda: _count(stack, "payments-demo") == FIRST + SECOND, DATA_TIMEOUT_S), _count(stack, "payments-demo")


def test_delta_counts_survive_an_idle_interval(start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> None:
    """With obsbox's default delta temporality a single process's counts stay exact across idle export intervals."""
    stack = start_stack()
    app = start_app("fastapi", stack.otlp_endpoint)
    _two_bursts(stack, app, "payments-demo", "/v1/payments/1")
    _exact(stack, "payments-demo", FIRST + SECOND)


@pytest.mark.xfail(
    strict=True,
    reason="known defect, not fixed yet: two workers with one service.instance.id are two delta writers of one "
    "series; deltatocumulative keeps them apart (process.pid differs) and the prometheus exporter then shows one "
    "worker's total at a time (20 of 40 counted). Pre-fork servers get exact counts from the pull path (/metrics "
    "under obsbox's hooks), which the deploy scrapes when the service is listed in prometheus_service_targets.",
)
def test_delta_counts_add_up_across_prefork_workers(start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> None:
    """Two gunicorn workers sharing one service.instance.id (obsbox's pre-fork hooks) are counted exactly."""
    stack = start_stack()
    app = start_app("flask", stack.otlp_endpoint, workers=2)
    total = 40
    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent, so both workers serve
        statuses = list(pool.map(lambda _: app.get("/v1/invoices/1?delay_ms=100"), range(total)))
    assert statuses == [200] * total
    assert wait_until(lambda: _server_spans(stack, "invoicing-demo") >= total, DATA_TIMEOUT_S)
    pids = {s.resource["process.pid"] for s in stack.tempo.spans() if s.kind == 2 and s.attributes.get("http.route") != "/healthz"}
    assert len(pids) == 2, f"one worker served every request ({pids}); the test needs both"
    _exact(stack, "invoicing-demo", total)
