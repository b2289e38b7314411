"""Health and probe routes stay out of the SLI metric, through the real instrumentation (the demo
under gunicorn) and a real Prometheus scrape; OBSBOX_SLI_EXCLUDE_ROUTES changes the list."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import http_status, wait_until

PROBES = 25
REQUESTS = 40


def _count(prom: Any, job: str, route: str) -> float:
    result = prom.query(f'sum(http_server_request_duration_seconds_count{{job="{job}",http_route="{route}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def _drive(
    job: str,
    env: dict[str, str],
    otlp: OtlpReceiver,
    payments: PaymentsServer,
    start_demo: Callable[..., Any],
    start_prometheus: Callable[..., Any],
) -> Any:
    """PROBES GETs each of /healthz and /ping without a tenant and REQUESTS tenant requests, all
    scraped; returns the Prometheus once the tenant requests are all in it."""
    demo = start_demo(otlp.endpoint, workers=1, payments_url=payments.url, **env)
    prom = start_prometheus(job, f"127.0.0.1:{demo.metrics_port}")
    assert wait_until(lambda: bool(prom.query(f'up{{job="{job}"}} == 1')), timeout=30), "target never up"
    for _ in range(PROBES):
        assert http_status(demo.url + "/healthz") == 200
        assert http_status(demo.url + "/ping") == 200
    summary = run_load(demo.url, max_requests=REQUESTS, duration_s=60, rps=100, tenants=3, routes="v1_list:1", seed=3)
    assert summary.statuses == {"200": REQUESTS}, summary.line()
    assert wait_until(lambda: _count(prom, job, "/v1/invoices") >= REQUESTS, timeout=30)
    # one more scrape after the count arrived, so a late probe series would have shown up too
    reached = time.time()
    assert wait_until(
        lambda: float(prom.query(f'timestamp(up{{job="{job}"}})')[0]["value"][1]) > reached + 1, timeout=10
    )
    return prom


@pytest.fixture(scope="module")
def default_prom(
    otlp: OtlpReceiver, payments: PaymentsServer, start_demo: Callable[..., Any], start_prometheus: Callable[..., Any]
) -> Any:
    return _drive("invoicing-demo", {}, otlp, payments, start_demo, start_prometheus)


def test_health_checks_are_not_in_the_request_metric_by_default(default_prom: Any) -> None:
    """With the defaults, Prometheus holds the tenant requests but no /healthz series at all."""
    series = default_prom.query('http_server_request_duration_seconds_count{job="invoicing-demo",http_route="/healthz"}')
    assert series == []
    assert _count(default_prom, "invoicing-demo", "/v1/invoices") == REQUESTS


def test_routes_off_the_list_are_still_counted(default_prom: Any) -> None:
    """/ping is no default probe route: all its requests are counted, under tenant __none__."""
    assert _count(default_prom, "invoicing-demo", "/ping") == PROBES
    tenants = default_prom.query('count by (tenant_id) (http_server_request_duration_seconds_count{http_route="/ping"})')
    assert [t["metric"]["tenant_id"] for t in tenants] == ["__none__"]


def test_setting_replaces_the_list(
    otlp: OtlpReceiver, payments: PaymentsServer, start_demo: Callable[..., Any], start_prometheus: Callable[..., Any]
) -> None:
    """OBSBOX_SLI_EXCLUDE_ROUTES=/ping counts /healthz again and drops /ping instead."""
    prom = _drive(
        "custom-demo", {"OBSBOX_SLI_EXCLUDE_ROUTES": "/ping"}, otlp, payments, start_demo, start_prometheus
    )
    # the start-up readiness polls of /healthz count too
    assert _count(prom, "custom-demo", "/healthz") >= PROBES
    assert prom.query('http_server_request_duration_seconds_count{job="custom-demo",http_route="/ping"}') == []
