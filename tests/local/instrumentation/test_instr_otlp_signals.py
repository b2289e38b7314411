"""The demo service under gunicorn exports spans, metrics and logs to a real OTLP/HTTP receiver."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver, SpanRecord
from examples.payments_service import PaymentsServer

SERVER = 2  # SpanKind SERVER in OTLP
CLIENT = 3
STATUS_ERROR = 2
SLOW_TENANT = "tenant-slowpay"
REQUESTS = 120


def _get(url: str, tenant: str) -> int:
    req = urllib.request.Request(url, headers={"X-Tenant-ID": tenant})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.fixture(scope="module")
def exported(otlp: OtlpReceiver, payments: PaymentsServer, start_demo: Callable[..., Any]) -> dict[str, Any]:
    """Run the demo (2 workers, gzip OTLP), send a known load plus one dependency timeout."""
    faults = {"rules": [{"tenant": SLOW_TENANT, "dependency_delay_ms": 2000}]}
    demo = start_demo(
        otlp.endpoint,
        workers=2,
        payments_url=payments.url,
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
        OBSBOX_DEMO_PAYMENTS_TIMEOUT="0.3",
        OBSBOX_DEMO_FAULTS=json.dumps(faults),
    )
    summary = run_load(
        demo.url,
        max_requests=REQUESTS,
        duration_s=60,
        tenants=5,
        concurrency=2,
        routes="v1_list:1,v1_get:1,v2_list:1",
        seed=7,
    )
    assert summary.statuses == {"200": REQUESTS}, summary.line()
    timeout_status = _get(demo.url + "/v1/invoices/inv-0001", SLOW_TENANT)

    def server_spans() -> list[SpanRecord]:
        return [
            s for s in otlp.spans() if s.kind == SERVER and s.attributes.get("url.path", "").startswith("/v")
        ]

    assert otlp.wait_for(lambda: len(server_spans()) >= REQUESTS + 1, timeout=30), len(server_spans())
    assert otlp.wait_for(
        lambda: any(m.name == "http.server.request.duration" for m in otlp.metric_points()), 30
    )
    return {
        "demo": demo,
        "summary": summary,
        "timeout_status": timeout_status,
        "server_spans": server_spans(),
    }


def test_server_spans_carry_route_tenant_and_api_version(exported: dict[str, Any]) -> None:
    """Every server span of a /v1 or /v2 request names its route template, tenant and API version."""
    spans = [s for s in exported["server_spans"] if s.attributes.get("tenant.id") != SLOW_TENANT]
    assert len(spans) == REQUESTS
    sent_tenants = set(exported["summary"].by_tenant)
    for s in spans:
        route = s.attributes.get("http.route")
        assert route in {"/v1/invoices", "/v1/invoices/<invoice_id>", "/v2/invoices"}, s
        assert s.attributes["api.version"] == route.split("/")[1]
        assert s.attributes["tenant.id"] in sent_tenants
        assert s.name == f"GET {route}"


def test_log_records_carry_their_span_trace_id(exported: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Each application log record exported over OTLP has the trace and span id of its request span."""
    spans = {s.span_id: s for s in exported["server_spans"]}
    app_logs = [r for r in otlp.logs() if isinstance(r.body, str) and r.body.startswith(("listed", "served"))]
    assert len(app_logs) >= REQUESTS
    for record in app_logs:
        span = spans.get(record.span_id)
        assert span is not None, f"log {record.body!r} points to no exported server span"
        assert record.trace_id == span.trace_id
        assert record.attributes.get("tenant.id") == span.attributes["tenant.id"]


def test_resource_names_the_service_once_across_workers(exported: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Spans, logs and metrics share one resource service.name and service.instance.id across workers, without tenant."""
    resources = [s.resource for s in otlp.spans()] + [r.resource for r in otlp.logs()]
    resources += [m.resource for m in otlp.metric_points()]
    assert {r["service.name"] for r in resources} == {"invoicing-demo"}
    assert len({r["service.instance.id"] for r in resources}) == 1
    assert len({s.resource["process.pid"] for s in exported["server_spans"]}) == 2, "both workers served"
    assert not any("tenant.id" in r for r in resources)


def test_dependency_timeout_shows_as_an_error(exported: dict[str, Any], otlp: OtlpReceiver) -> None:
    """A payments call that times out gives a 504, an error server span and an error client span without status."""
    assert exported["timeout_status"] == 504
    server = [s for s in exported["server_spans"] if s.attributes.get("tenant.id") == SLOW_TENANT]
    assert len(server) == 1 and server[0].status_code == STATUS_ERROR
    assert server[0].attributes["http.response.status_code"] == 504
    assert otlp.wait_for(
        lambda: any(s.kind == CLIENT and s.trace_id == server[0].trace_id for s in otlp.spans()), timeout=10
    )
    client = [s for s in otlp.spans() if s.kind == CLIENT and s.trace_id == server[0].trace_id]
    assert client[0].status_code == STATUS_ERROR
    assert client[0].attributes.get("http.response.status_code", 0) == 0


def test_request_metrics_count_every_request(exported: dict[str, Any], otlp: OtlpReceiver) -> None:
    """The OTLP http.server.request.duration points count the load exactly once per request, by route."""
    sent = exported["summary"]
    expected = {
        "/v1/invoices": sent.by_route["v1_list"],
        "/v1/invoices/<invoice_id>": sent.by_route["v1_get"],
        "/v2/invoices": sent.by_route["v2_list"],
    }

    def counts() -> dict[str, float]:
        return {
            route: otlp.metric_total(
                "http.server.request.duration",
                lambda m, route=route: (
                    m.attributes.get("http.route") == route  # type: ignore[misc]
                    and m.attributes.get("tenant.id") != SLOW_TENANT
                ),
            )
            for route in expected
        }

    assert otlp.wait_for(lambda: counts() == expected, timeout=20), (counts(), expected)


def test_receiver_decoded_gzip_bodies(otlp: OtlpReceiver, exported: dict[str, Any]) -> None:
    """The gzip-compressed exports were all decoded (no request was refused as undecodable)."""
    assert otlp.errors == []
    assert len(otlp.requests("/v1/traces")) > 0 and len(otlp.requests("/v1/logs")) > 0
