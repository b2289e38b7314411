"""A real Prometheus over a small backfilled TSDB of contract-named series, for the dashboard queries.

The series are synthetic but shaped like the real thing: contract metrics carry exactly the
labels the contract gives them (histograms with the contract's buckets, cumulative and
monotonic), and exporter series carry the labels node_exporter, Prometheus, Alertmanager, the
collector, Loki and Tempo put on them. They go through `promtool tsdb create-blocks-from
openmetrics` (the rule tester's backfill) into a TSDB that Debian's Prometheus serves.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from obsbox_instrumentation import contract as c

from obsbox.contract_check import recording_rule_names, rule_expressions
from obsbox.replay.model import Series
from obsbox.replay.prometheus import PrometheusServer
from obsbox.replay.tsdb import backfill

# A fixed end time keeps the data (and so every query result) the same on every run.
END_S = 1_700_000_000
SPAN_S = 3 * 3600
STEP_S = 60
TIMES_S = list(range(END_S - SPAN_S, END_S + 1, STEP_S))
# Recording rules are backfilled only for this tail: queries at END_S read no further back
# (promtool writes a block per rule, so a longer tail only costs time).
RECORDED_TAIL_S = 15 * 60
REPO_ROOT = Path(__file__).resolve().parents[3]


def _slo_job(default: str = "invoicing-demo") -> str:
    """A service that alert_rules/ records SLO ratios for, so the SLO panels have data for it."""
    jobs = set()
    for path in (REPO_ROOT / "alert_rules").glob("*.rules.yaml"):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if rule.get("record") == "job:http_server_requests:rate5m" and "job" in (rule.get("labels") or {}):
                    jobs.add(rule["labels"]["job"])
    return min(jobs, default=default)


SERVICE = {"job": _slo_job(), "instance": "10.0.0.5:8000"}
WORKER = {"job": "invoicing-worker", "instance": "10.0.0.6:9464"}

# (tenant, api_version) pairs seen: v1 still used by one named tenant and by the folded tail.
TENANT_VERSIONS = (("acme", "v1"), ("acme", "v2"), ("globex", "v2"), (c.TENANT_OTHER, "v1"), (c.TENANT_NONE, "v2"))
ROUTES = {"/api/invoices": 0.08, "/api/invoices/{id}/pdf": 0.4}  # route -> mean duration (s)
STATUSES = {"200": 4.0, "404": 0.2, "500": 0.05}  # status -> requests per second per combination


def _series(name: str, labels: dict[str, str], values: list[float]) -> Series:
    return Series({"__name__": name, **labels}, [t * 1000 for t in TIMES_S], [float(v) for v in values])


def _counter(name: str, labels: dict[str, str], per_second: float) -> Series:
    return _series(name, labels, [per_second * (t - TIMES_S[0]) for t in TIMES_S])


def _gauge(name: str, labels: dict[str, str], value: Callable[[int], float]) -> Series:
    return _series(name, labels, [value(i) for i in range(len(TIMES_S))])


def _histogram(
    spec: c.MetricSpec, labels: dict[str, str], per_second: float, mean_s: float
) -> list[Series]:
    """Buckets, count and sum of an exponential duration distribution with the given mean."""
    assert set(labels) <= set(spec.labels) | set(c.TARGET_LABELS), f"labels outside the contract: {labels}"
    name = spec.prometheus_name
    out = [_counter(f"{name}_count", labels, per_second), _counter(f"{name}_sum", labels, per_second * mean_s)]
    for le in spec.buckets:
        share = 1 - math.exp(-le / mean_s)
        # Prometheus clients write bucket bounds with Go's/Python's shortest float form ("0.5", "1.0").
        out.append(_counter(f"{name}_bucket", {**labels, "le": repr(float(le))}, per_second * share))
    out.append(_counter(f"{name}_bucket", {**labels, "le": "+Inf"}, per_second))
    return out


def contract_series() -> list[Series]:
    """Every metric of the signal contract, for one web service and one worker."""
    out: list[Series] = []
    for tenant, version in TENANT_VERSIONS:
        for route, mean in ROUTES.items():
            for status, rate in STATUSES.items():
                labels = {
                    **SERVICE,
                    c.LABEL_HTTP_ROUTE: route,
                    c.LABEL_HTTP_METHOD: "GET",
                    c.LABEL_HTTP_STATUS: status,
                    c.LABEL_API_VERSION: version,
                    c.LABEL_TENANT: tenant,
                }
                out += _histogram(c.HTTP_SERVER_REQUEST_DURATION, labels, rate, mean)
    for address, status, rate in (("payments.internal", "200", 2.0), ("payments.internal", "503", 0.1), ("smtp.internal", "0", 0.05)):
        labels = {**SERVICE, c.LABEL_SERVER_ADDRESS: address, c.LABEL_HTTP_METHOD: "POST", c.LABEL_HTTP_STATUS: status}
        out += _histogram(c.HTTP_CLIENT_REQUEST_DURATION, labels, rate, 0.15)
    for queue, job_name, mean in (("emails", "send_email", 0.5), ("reports", "build_report", 45.0)):
        for outcome, rate in ((c.OUTCOME_SUCCESS, 1.0), (c.OUTCOME_FAILURE, 0.02), (c.OUTCOME_RETRY, 0.05)):
            labels = {**WORKER, c.LABEL_QUEUE: queue, c.LABEL_JOB_NAME: job_name, c.LABEL_OUTCOME: outcome}
            out += _histogram(c.JOB_DURATION, labels, rate, mean)
        q = {**WORKER, c.LABEL_QUEUE: queue}
        out.append(_gauge(c.JOB_QUEUE_DEPTH.prometheus_name, q, lambda i: 10 + i % 7))
        out.append(_gauge(c.JOB_QUEUE_OLDEST_AGE.prometheus_name, q, lambda i: 30.0 + i % 11))
        out.append(_gauge(c.JOB_WORKERS.prometheus_name, q, lambda i: 4))
        out.append(_gauge(c.JOB_FAILED_REGISTRY.prometheus_name, q, lambda i: 3))
        out.append(_gauge(c.JOB_BROKER_UP.prometheus_name, q, lambda i: 1))
        out += _histogram(c.JOB_QUEUE_LAG, {**WORKER, c.LABEL_QUEUE: queue, c.LABEL_JOB_NAME: job_name}, 1.07, 2.0)
    out.append(_counter(c.TELEMETRY_DROPPED.prometheus_name, {**SERVICE, c.LABEL_SIGNAL: "spans", c.LABEL_REASON: "queue_full"}, 0.1))
    out.append(_counter(c.TELEMETRY_EXPORT_FAILURES.prometheus_name, {**SERVICE, c.LABEL_SIGNAL: "logs"}, 0.01))
    return out


def exporter_series() -> list[Series]:
    """The exporter series the dashboards read, with the labels those exporters use."""
    node = {"job": "node", "instance": "host-a:9100"}
    prom = {"job": "prometheus", "instance": "127.0.0.1:9090"}
    group = {**prom, "rule_group": "/etc/prometheus/rules/slo.rules.yaml;slo-invoicing-demo"}
    otel = {"job": "otelcol", "instance": "127.0.0.1:8888"}
    fs = {**node, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    nic = {**node, "device": "eth0"}
    out: list[Series] = []
    for cpu in ("0", "1"):
        for mode, share in (("idle", 0.7), ("user", 0.2), ("system", 0.08), ("iowait", 0.02)):
            out.append(_counter("node_cpu_seconds_total", {**node, "cpu": cpu, "mode": mode}, share))
    out += [
        _gauge("node_uname_info", {**node, "nodename": "host-a", "release": "6.1.0"}, lambda i: 1),
        _gauge("node_load1", node, lambda i: 0.5 + (i % 5) / 10),
        _gauge("node_memory_MemTotal_bytes", node, lambda i: 8e9),
        _gauge("node_memory_MemAvailable_bytes", node, lambda i: 3e9 - i * 1e6),
        _gauge("node_filesystem_size_bytes", fs, lambda i: 100e9),
        _gauge("node_filesystem_avail_bytes", fs, lambda i: 40e9 - i * 50e6),
        _counter("node_disk_io_time_seconds_total", {**node, "device": "sda"}, 0.1),
    ]
    for direction in ("receive", "transmit"):
        out.append(_counter(f"node_network_{direction}_bytes_total", nic, 125_000.0))
        out.append(_counter(f"node_network_{direction}_errs_total", nic, 0.01))
        out.append(_counter(f"node_network_{direction}_drop_total", nic, 0.02))
    for job, instance in ((node["job"], node["instance"]), (prom["job"], prom["instance"]), (SERVICE["job"], SERVICE["instance"])):
        target = {"job": job, "instance": instance}
        out += [
            _gauge("up", target, lambda i: 1),
            _gauge("scrape_duration_seconds", target, lambda i: 0.02),
            _gauge("scrape_samples_scraped", target, lambda i: 800),
        ]
    out += [
        _counter("prometheus_rule_evaluation_failures_total", group, 0.0),
        _counter("prometheus_rule_group_iterations_missed_total", group, 0.0),
        _gauge("prometheus_rule_group_last_duration_seconds", group, lambda i: 0.05),
        _gauge("prometheus_rule_group_interval_seconds", group, lambda i: 60),
        _gauge("prometheus_tsdb_head_series", prom, lambda i: 12_000 + i),
        _counter("prometheus_tsdb_compactions_failed_total", prom, 0.0),
        _counter("prometheus_tsdb_wal_corruptions_total", prom, 0.0),
        _gauge("prometheus_config_last_reload_successful", prom, lambda i: 1),
        _counter("prometheus_notifications_sent_total", {**prom, "alertmanager": "http://127.0.0.1:9093/api/v2/alerts"}, 0.2),
        _counter("prometheus_notifications_errors_total", {**prom, "alertmanager": "http://127.0.0.1:9093/api/v2/alerts"}, 0.0),
        _counter("prometheus_notifications_dropped_total", prom, 0.0),
        _counter("alertmanager_notifications_total", {"job": "alertmanager", "instance": "127.0.0.1:9093", "integration": "webhook"}, 0.05),
        _counter("alertmanager_notifications_failed_total", {"job": "alertmanager", "instance": "127.0.0.1:9093", "integration": "webhook"}, 0.0),
        _gauge("ALERTS", {"alertname": "SloErrorBudgetBurnFast", "alertstate": "firing", "severity": "critical", "job": "invoicing-demo"}, lambda i: 1),
    ]
    for signal, rate in (("spans", 300.0), ("metric_points", 900.0), ("log_records", 150.0)):
        receiver = {**otel, "receiver": "otlp", "transport": "grpc"}
        exporter = {**otel, "exporter": "otlphttp/loki" if signal == "log_records" else "otlp"}
        out += [
            _counter(f"otelcol_receiver_accepted_{signal}", receiver, rate),
            _counter(f"otelcol_receiver_refused_{signal}", receiver, 0.0),
            _counter(f"otelcol_exporter_send_failed_{signal}", exporter, 0.0),
            _counter(f"otelcol_exporter_enqueue_failed_{signal}", exporter, 0.0),
        ]
    out += [
        _gauge("otelcol_exporter_queue_size", {**otel, "exporter": "otlp"}, lambda i: i % 50),
        _gauge("otelcol_exporter_queue_capacity", {**otel, "exporter": "otlp"}, lambda i: 1000),
        _counter("loki_request_duration_seconds_count", {"job": "loki", "instance": "127.0.0.1:3100", "route": "loki_api_v1_push", "method": "POST", "status_code": "500"}, 0.01),
        _counter("loki_discarded_samples_total", {"job": "loki", "instance": "127.0.0.1:3100", "reason": "rate_limited", "tenant": "fake"}, 0.1),
        _counter("tempo_request_duration_seconds_count", {"job": "tempo", "instance": "127.0.0.1:3200", "route": "opentelemetry_proto_collector_trace_v1_traceservice_export", "method": "gRPC", "status_code": "500"}, 0.01),
        _counter("tempo_discarded_spans_total", {"job": "tempo", "instance": "127.0.0.1:3200", "reason": "rate_limited", "tenant": "single-tenant"}, 0.1),
        _counter("tempo_distributor_spans_received_total", {"job": "tempo", "instance": "127.0.0.1:3200", "tenant": "single-tenant"}, 300.0),
    ]
    return out


def _backfill_recording_rules(promtool: str, server: PrometheusServer, rule_files: list[Path], out: Path) -> None:
    """Evaluate obsbox's recording rules over the raw data with promtool, writing blocks into out."""
    result = subprocess.run(
        [
            promtool, "tsdb", "create-blocks-from", "rules",
            f"--start={END_S - RECORDED_TAIL_S}", f"--end={END_S}", f"--url={server.url}", f"--output-dir={out}",
            "--eval-interval=60s", "--quiet",
            *map(str, rule_files),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[PrometheusServer]:
    """Debian's Prometheus on a free loopback port over the backfilled series (data ends at END_S).

    The data also holds what obsbox's recording rules (alert_rules/*.rules.yaml) record over it,
    backfilled by promtool from a first Prometheus over the raw series, as a running server
    would have recorded them.
    """
    promtool = shutil.which("promtool")
    if shutil.which("prometheus") is None or promtool is None:
        pytest.skip("prometheus/promtool are not installed (Debian package prometheus)")
    work = tmp_path_factory.mktemp("dashboards-prometheus")
    data = work / "data"
    data.mkdir()
    written = backfill([(contract_series() + exporter_series(), 0)], data, work)
    assert written > 0
    rule_files = [
        path
        for path in sorted((repo_root / "alert_rules").glob("*.rules.yaml"))
        if recording_rule_names(rule_expressions(path.read_text(encoding="utf-8"), str(path)))
    ]
    if rule_files:
        raw_dir = work / "raw"
        raw_dir.mkdir()
        with PrometheusServer(data, raw_dir) as raw:
            _backfill_recording_rules(promtool, raw, rule_files, data)
    with PrometheusServer(data, work) as server:
        yield server


@pytest.fixture(scope="session")
def end_ms() -> int:
    """The instant the backfilled data ends, where the queries are evaluated."""
    return END_S * 1000




@pytest.fixture(scope="session")
def served_error_ratio() -> float:
    """The 5xx share of the generated server traffic (rates are constant, so any window has it)."""
    return STATUSES["500"] / sum(STATUSES.values())
