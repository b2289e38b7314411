"""Real Prometheus scrapes the demo under gunicorn (4 workers, recycled by max_requests)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from obsbox_instrumentation import contract

from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import wait_until

JOB = "invoicing-demo"
REQUESTS = 600
MAX_REQUESTS = 50
COUNT_QUERY = f'sum(http_server_request_duration_seconds_count{{job="{JOB}",http_route=~"/v.*"}})'
SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')


@pytest.fixture(scope="module")
def scraped(
    otlp: OtlpReceiver,
    payments: PaymentsServer,
    start_demo: Callable[..., Any],
    start_prometheus: Callable[..., Any],
) -> dict[str, Any]:
    """Run 4 recycling workers under load while Prometheus scrapes their /metrics every 500 ms."""
    demo = start_demo(
        otlp.endpoint, workers=4, max_requests=MAX_REQUESTS, jitter=10, payments_url=payments.url
    )
    prom = start_prometheus(JOB, f"127.0.0.1:{demo.metrics_port}")
    started = time.time()
    assert wait_until(lambda: bool(prom.query(f'up{{job="{JOB}"}} == 1')), timeout=30), "target never up"
    summary = run_load(
        demo.url,
        max_requests=REQUESTS,
        duration_s=120,
        rps=150,
        tenants=8,
        concurrency=4,
        routes="v1_list:4,v1_get:3,v2_list:3",
        seed=11,
    )
    return {"demo": demo, "prom": prom, "summary": summary, "started": started}


def _count(prom: Any) -> float:
    result = prom.query(COUNT_QUERY)
    return float(result[0]["value"][1]) if result else -1.0


def _last_scrape(prom: Any) -> float:
    """Unix time of the newest scrape of the demo."""
    result = prom.query(f'timestamp(up{{job="{JOB}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def test_prometheus_counts_exactly_the_requests_sent(scraped: dict[str, Any]) -> None:
    """Across worker recycles, the scraped request count equals the number of requests sent, exactly."""
    prom, summary = scraped["prom"], scraped["summary"]
    assert summary.sent == REQUESTS and summary.statuses == {"200": REQUESTS}, summary.line()
    assert "Autorestarting worker" in scraped["demo"].process.output(), "no worker was recycled"
    assert wait_until(lambda: _count(prom) >= REQUESTS, timeout=30), _count(prom)
    # later scrapes must not drift either way (a dead worker's counts neither vanish nor double)
    reached = time.time()
    assert wait_until(lambda: _last_scrape(prom) > reached + 1.0, timeout=10), "Prometheus stopped scraping"
    assert _count(prom) == REQUESTS


def test_instance_label_does_not_churn(scraped: dict[str, Any], otlp: OtlpReceiver) -> None:
    """One Prometheus instance and one OTLP service.instance.id cover every worker, recycled ones included."""
    prom = scraped["prom"]
    series = prom.series(f'{{job="{JOB}"}}', scraped["started"] - 5)
    assert {s["instance"] for s in series} == {f"127.0.0.1:{scraped['demo'].metrics_port}"}
    target_info = prom.query(f'count by (service_instance_id) (target_info{{job="{JOB}"}})')
    assert len(target_info) <= 1, target_info
    pids = {s.resource["process.pid"] for s in otlp.spans()}
    assert len(pids) > 4, f"expected recycled workers, saw pids {pids}"
    assert len({s.resource["service.instance.id"] for s in otlp.spans()}) == 1


def test_scraped_series_names_are_declared_in_the_contract(scraped: dict[str, Any]) -> None:
    """Every series on the real /metrics page is declared by the signal contract or a known exporter."""
    page = scraped["demo"].scrape()
    names = {
        m.group(1) for line in page.splitlines() if (m := SERIES_RE.match(line)) and not line.startswith("#")
    }
    assert "http_server_request_duration_seconds_count" in names
    assert "http_client_request_duration_seconds_count" in names
    undeclared = sorted(n for n in names if not contract.is_declared_series(n))
    assert undeclared == []


def test_request_duration_labels_are_exactly_the_contracts(scraped: dict[str, Any]) -> None:
    """http_server_request_duration_seconds carries exactly the contract's labels (plus le on buckets)."""
    page = scraped["demo"].scrape()
    spec = contract.metric_by_prometheus_name("http_server_request_duration_seconds")
    assert spec is not None
    seen = 0
    for line in page.splitlines():
        m = SERIES_RE.match(line)
        if not m or contract.metric_by_prometheus_name(m.group(1)) is not spec:
            continue
        labels = set(LABEL_RE.findall(m.group(2) or ""))
        expected = set(spec.labels) | ({"le"} if m.group(1).endswith("_bucket") else set())
        assert labels == expected, line
        seen += 1
    assert seen > 0
