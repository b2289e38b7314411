"""1,000 tenants produce at most N+1 tenant values per metric (top N plus the folded rest)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from obsbox_instrumentation import contract

from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver

TOP_N = 5
TENANTS = 1000
REQUESTS = 1500
LINE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s")
TENANT_RE = re.compile(r'tenant_id="([^"]*)"')


@pytest.fixture(scope="module")
def flooded(otlp: OtlpReceiver, start_demo: Callable[..., Any]) -> dict[str, Any]:
    """Two workers sharing one cap receive requests from 1,000 tenants."""
    demo = start_demo(otlp.endpoint, workers=2, OBSBOX_TENANT_TOP_N=str(TOP_N))
    summary = run_load(
        demo.url,
        max_requests=REQUESTS,
        duration_s=120,
        tenants=TENANTS,
        skew=0.0,
        concurrency=4,
        routes="v1_list:1,v2_list:1",
        seed=3,
    )
    assert summary.sent == REQUESTS
    assert otlp.wait_for(lambda: otlp.metric_total("http.server.request.duration") >= REQUESTS, timeout=30)
    return {"demo": demo, "summary": summary}


def test_load_really_used_hundreds_of_tenants(flooded: dict[str, Any], otlp: OtlpReceiver) -> None:
    """The spans (uncapped) show the hundreds of distinct tenants the load generator sent."""
    sent = set(flooded["summary"].by_tenant)
    assert len(sent) > 500
    assert {s.attributes.get("tenant.id") for s in otlp.spans() if s.kind == 2} >= sent


def test_prometheus_page_has_at_most_n_plus_one_tenants_per_metric(flooded: dict[str, Any]) -> None:
    """On /metrics every metric carries at most TOP_N admitted tenants plus __other__."""
    values: dict[str, set[str]] = defaultdict(set)
    for line in flooded["demo"].scrape().splitlines():
        m = LINE_RE.match(line)
        if m:
            for tenant in TENANT_RE.findall(m.group(2)):
                if tenant != contract.TENANT_NONE:  # the readiness probes' untenanted /healthz
                    values[m.group(1)].add(tenant)
    assert "http_server_request_duration_seconds_count" in values
    for name, tenants in values.items():
        assert len(tenants) <= TOP_N + 1, (name, sorted(tenants))
    assert contract.TENANT_OTHER in values["http_server_request_duration_seconds_count"]


def test_otlp_metrics_have_at_most_n_plus_one_tenants_per_metric(
    flooded: dict[str, Any], otlp: OtlpReceiver
) -> None:
    """The pushed metrics obey the same cap across both workers."""
    values: dict[str, set[str]] = defaultdict(set)
    for point in otlp.metric_points():
        tenant = point.attributes.get("tenant.id")
        if tenant is not None and tenant != contract.TENANT_NONE:  # untenanted /healthz probes
            values[point.name].add(str(tenant))
    assert "http.server.request.duration" in values
    for name, tenants in values.items():
        assert len(tenants) <= TOP_N + 1, (name, sorted(tenants))
