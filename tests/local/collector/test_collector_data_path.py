"""A Flask service (gunicorn) and a FastAPI service (uvicorn), instrumented with obsbox as its
README says, export OTLP to the pinned collector running obsbox's rendered config; the pinned
Prometheus scrapes the collector as the deploy configures it. What the shipped dashboards and
rules read must arrive with the exact names, labels and counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from collector_stack import DATA_TIMEOUT_S, RULES_DIR, TENANT, App, Stack
from obsbox_instrumentation import contract

from dashboards import build_all
from dashboards._queries import interpolate, queries
from examples.procs import wait_until
from obsbox.contract_check import metric_names, read_rule_files, undeclared_labels
from obsbox.render.loki import LokiSettings, render_loki_config

# Labels the collector's prometheus exporter puts on every series it translates from OTLP, besides
# job and instance (from service.name and service.instance.id): the instrumentation scope (empty
# ones, which Prometheus does not store, left out).
SCOPE_LABELS = ("otel_scope_name", "otel_scope_schema_url", "otel_scope_version")


@dataclass(frozen=True)
class Service:
    kind: str  # key of conftest.APP_SERVERS
    job: str  # service.name, one of alert_rules/slos.yaml's services
    path: str  # a request path that answers 200
    route: str  # the route template the framework reports for it


SERVICES = {
    "flask": Service("flask", "invoicing-demo", "/v1/invoices/42", "/v1/invoices/<int:invoice_id>"),
    "fastapi": Service("fastapi", "payments-demo", "/v1/payments/42", "/v1/payments/{payment_id}"),
}


@dataclass
class Run:
    service: Service
    stack: Stack
    app: App
    ok: int  # requests answered 200
    failed: int  # requests answered 503


@pytest.fixture(scope="module", params=sorted(SERVICES))
def run(request: pytest.FixtureRequest, start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> Run:
    """One service behind its own collector and Prometheus, after a known, bounded stream of requests."""
    service = SERVICES[request.param]
    stack = start_stack()
    # One process and a steady stream: obsbox pushes delta temporality, and the collector's
    # prometheus exporter adds up a delta stream only from a single writer whose points follow
    # each other without an idle export interval (test_collector_temporality.py shows the rest).
    app = start_app(service.kind, stack.otlp_endpoint, workers=1)
    selector = f'http_server_request_duration_seconds_count{{job="{service.job}",tenant_id="{TENANT}"}}'

    def both_series_scraped_three_times() -> bool:
        samples = stack.query(f"count_over_time({selector}[1m])")
        return len(samples) == 2 and all(float(s["value"][1]) >= 3 for s in samples)

    sent = app.stream([service.path, "/v1/broken"], both_series_scraped_three_times, {"X-Tenant-ID": TENANT})
    assert set(sent) == {(service.path, 200), ("/v1/broken", 503)}, sent
    return Run(service, stack, app, sent[(service.path, 200)], sent[("/v1/broken", 503)])


def _count(run: Run, status: str) -> str:
    return (
        f'sum(http_server_request_duration_seconds_count{{job="{run.service.job}",'
        f'tenant_id="{TENANT}",http_response_status_code="{status}"}})'
    )


def test_request_counts_equal_requests_sent(run: Run) -> None:
    """Prometheus counts exactly the requests sent, per status code, after OTLP delta -> collector -> cumulative."""
    counted: list[float | None] = []

    def exact() -> bool:
        counted[:] = [run.stack.value(_count(run, "200")), run.stack.value(_count(run, "503"))]
        return counted == [run.ok, run.failed]

    settled = wait_until(exact, DATA_TIMEOUT_S, interval=0.5)
    misaligned = "Misaligned starting timestamps" in run.stack.collector.output()
    assert settled, f"counted {counted} of {[run.ok, run.failed]} (collector logged misaligned delta points: {misaligned})"
    buckets = run.stack.value(
        f'sum(http_server_request_duration_seconds_bucket{{job="{run.service.job}",tenant_id="{TENANT}",le="+Inf"}})'
    )
    assert buckets == run.ok + run.failed


def test_series_carry_the_contract_labels(run: Run) -> None:
    """job is service.name, instance is service.instance.id, and the HTTP labels are the contract's."""
    run.stack.wait_value(_count(run, "200"), lambda v: v >= run.ok)
    instance_ids = {s.resource["service.instance.id"] for s in run.stack.tempo.spans() if s.resource.get("service.name") == run.service.job}
    assert len(instance_ids) == 1, instance_ids
    (series,) = run.stack.series(
        f'http_server_request_duration_seconds_count{{job="{run.service.job}",http_route="{run.service.route}"}}'
    )
    spec = contract.HTTP_SERVER_REQUEST_DURATION
    # Prometheus stores no empty label: obsbox's meter has no version and no schema URL.
    assert {"__name__", *contract.TARGET_LABELS, *spec.labels, "otel_scope_name"} == set(series)
    assert series["instance"] == instance_ids.pop()
    assert series["http_request_method"] == "GET"
    assert series["http_response_status_code"] == "200"
    assert series["tenant_id"] == TENANT
    assert series["api_version"] == "v1"
    assert series["otel_scope_name"] == "obsbox_instrumentation"
    le = {s["le"] for s in run.stack.series(f'http_server_request_duration_seconds_bucket{{job="{run.service.job}",http_route="{run.service.route}"}}')}
    # Prometheus 3 normalises le to its float form: 1 becomes "1.0".
    assert le == {*(str(float(b)) for b in spec.buckets), "+Inf"}


def test_scrape_passes_the_contract_check(run: Run) -> None:
    """Every series the services' OTLP metrics became is declared by the signal contract, with the contract's labels only."""
    run.stack.wait_value(_count(run, "200"), lambda v: v >= run.ok)
    # What the scrape stored (not what the loaded rules recorded from it, nor their ALERTS).
    scraped = run.stack.series(f'{{job="{run.service.job}",__name__!~".+:.+|ALERTS.*"}}')
    assert scraped
    for series in scraped:
        name = series["__name__"]
        assert contract.is_declared_series(name), f"{name} is not declared by the signal contract"
        spec = contract.metric_by_prometheus_name(name)
        if spec is not None:
            allowed = {"__name__", *contract.TARGET_LABELS, *spec.labels, *SCOPE_LABELS}
            if name.endswith("_bucket"):
                allowed.add("le")
            assert set(series) <= allowed, (name, set(series) - allowed)


def test_every_http_server_name_the_rules_and_dashboards_read_has_data(run: Run) -> None:
    """Each http_server_* series name and label the shipped rules and dashboards select on exists in this scrape."""
    run.stack.wait_value(_count(run, "200"), lambda v: v >= run.ok)
    expressions = _shipped_expressions()
    server_names = contract.HTTP_SERVER_REQUEST_DURATION.prometheus_series_names
    read = {name for expr in expressions for name in metric_names(expr) if name in server_names}
    assert read, "no shipped rule or dashboard reads http_server_request_duration_seconds_*"
    for name in sorted(read):
        assert run.stack.query(f'count({name}{{job="{run.service.job}"}})'), f"{name} has no series"
    assert not any(undeclared_labels(expr) for expr in expressions)


def test_slo_recording_rules_record_from_collector_series(run: Run) -> None:
    """The shipped SLO recording rules, evaluated by Prometheus 3.5, give this service's request rate, error and slow ratios."""
    job = run.service.job
    run.stack.wait_value(_count(run, "503"), lambda v: v >= run.failed)
    rate = run.stack.wait_value(f'job:http_server_requests:rate5m{{job="{job}"}}', lambda v: v > 0)
    ratio = run.stack.wait_value(f'job:http_server_request_errors:ratio_rate5m{{job="{job}"}}', lambda v: v > 0)
    assert rate > 0
    # As many failed requests as good ones; rate() extrapolates each series on its own, so the
    # ratio is near, not at, one half.
    assert 0.3 < ratio < 0.7, ratio
    # The latency SLO reads the bucket at its threshold (le="0.5", or le="1.0" as Prometheus 3
    # normalises 1): every request here is fast, so no slow share.
    slow = run.stack.wait_value(f'job:http_server_request_slow:ratio_rate5m{{job="{job}"}}', lambda v: not math.isnan(v))
    assert 0 <= slow < 0.05, slow
    for group in run.stack.rules():
        for rule in group["rules"]:
            assert rule["health"] != "err", (group["file"], rule["name"], rule.get("lastError"))


def test_traces_reach_tempo_with_tenant(run: Run) -> None:
    """The collector's otlp/tempo exporter delivers one server span per request, carrying tenant.id."""
    job = run.service.job

    def server_spans() -> list[Any]:
        return [
            s
            for s in run.stack.tempo.spans()
            if s.resource.get("service.name") == job and s.kind == 2 and s.attributes.get("tenant.id") == TENANT
        ]

    assert wait_until(lambda: len(server_spans()) >= run.ok + run.failed, DATA_TIMEOUT_S), len(server_spans())
    spans = server_spans()
    assert len(spans) == run.ok + run.failed
    assert {s.attributes["http.route"] for s in spans} == {run.service.route, "/v1/broken"}
    assert all("tenant.id" not in s.resource for s in spans)


def _loki_structured_metadata_attributes() -> set[str]:
    """The log attributes obsbox's rendered Loki config keeps as structured metadata."""
    otlp = yaml.safe_load(render_loki_config(LokiSettings()))["limits_config"]["otlp_config"]
    return {a for rule in otlp["log_attributes"] if rule["action"] == "structured_metadata" for a in rule["attributes"]}


def test_logs_reach_loki_with_trace_id_and_tenant(run: Run) -> None:
    """Log records arrive at Loki's OTLP path with their request's trace_id and, as log attributes, the
    attributes Loki's rendered config keeps as structured metadata (tenant.id); none on the resource."""
    job = run.service.job
    metadata = _loki_structured_metadata_attributes()
    assert "tenant.id" in metadata

    def request_logs() -> list[Any]:
        return [r for r in run.stack.loki.logs() if r.resource.get("service.name") == job and r.attributes.get("tenant.id") == TENANT]

    assert wait_until(lambda: len(request_logs()) >= run.ok + run.failed, DATA_TIMEOUT_S), len(request_logs())
    logs = request_logs()
    assert len(logs) == run.ok + run.failed
    span_traces = {s.trace_id: s.attributes.get("tenant.id") for s in run.stack.tempo.spans()}
    for record in logs:
        assert metadata <= set(record.attributes), record
        assert not metadata & set(record.resource), record
        assert record.trace_id and record.trace_id != "0" * 32
        assert span_traces.get(record.trace_id) == TENANT, record


def _shipped_expressions() -> list[str]:
    """Every PromQL expression of the shipped rule files and dashboards."""
    expressions = [r.expr for r in read_rule_files(RULES_DIR.glob("*.rules.yaml"))]
    for model in build_all().values():
        expressions += [interpolate(q.expr, model) for q in queries(model) if q.datasource == "prometheus"]
    return expressions


# Counters the collector creates only at the first loss; test_collector_backend_down.py sees them.
CREATED_ON_LOSS = ("otelcol_exporter_send_failed_", "otelcol_exporter_enqueue_failed_")


def test_collector_own_metrics_carry_the_names_rules_and_dashboards_read(run: Run) -> None:
    """Every otelcol_* name the shipped rules and dashboards read, except the loss counters, is on the real collector's scrape."""
    read = {n for expr in _shipped_expressions() for n in metric_names(expr) if n.startswith("otelcol_")}
    assert read
    assert wait_until(lambda: bool(run.stack.query('otelcol_exporter_sent_log_records{job="otelcol"}')), DATA_TIMEOUT_S)
    exposed = {r["metric"]["__name__"] for r in run.stack.query('count by (__name__) ({job="otelcol"})')}
    expected = {n for n in read if not n.startswith(CREATED_ON_LOSS)}
    assert expected <= exposed, sorted(expected - exposed)


def test_prometheus_and_collector_are_the_pinned_versions(run: Run) -> None:
    """The Prometheus and the collector of this path report the deploy's pinned versions."""
    from obsbox.binaries.catalog import pinned_versions

    pins = pinned_versions()
    build = run.stack.query("prometheus_build_info")
    assert build and build[0]["metric"]["version"] == pins["prometheus"]
    # The collector's own telemetry keeps OpenTelemetry's attribute names; Prometheus 3 stores
    # them as UTF-8 label names.
    target = run.stack.query('target_info{job="otelcol"}')
    assert target and target[0]["metric"]["service.version"] == pins["otelcol"]
