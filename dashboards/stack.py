"""The monitoring stack watching itself: scrapes, Prometheus, Alertmanager, collector, Loki, Tempo.

Answers "can we trust the other dashboards right now?" A failing rule evaluation, a refused
span, a failed notification or a dropped telemetry item each means an alert or a graph elsewhere
is silently wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsbox_instrumentation import contract as c

from dashboards._lib import GREEN, RATE, RED, YELLOW, dashboard, graph, prom, single, tabulate, thresholds

UID = Path(__file__).stem
TITLE = "Monitoring stack"

# The collector's internal telemetry names per signal (spans, metric points, log records).
SIGNALS = (("spans", "spans"), ("metric_points", "metric points"), ("log_records", "log records"))


def _per_signal(template: str, by: str, legend: str) -> list[Any]:
    return [
        prom(f"sum by ({by}) (rate({template.format(s)}[{RATE}]))", f"{legend} {label}") for s, label in SIGNALS
    ]


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    failing = thresholds((None, GREEN), (1e-9, RED))
    scrapes = [
        graph(
            "Targets up",
            "Share of each job's scrape targets that answered the last scrape.",
            "percentunit",
            [prom("sum by (job) (up) / count by (job) (up)", "{{job}}")],
            span=8,
            steps=thresholds((None, RED), (0.99, GREEN)),
        ),
        graph(
            "Scrape duration",
            "Slowest scrape per job; close to the scrape timeout means samples are about to go missing.",
            "s",
            [prom("max by (job) (scrape_duration_seconds)", "{{job}}")],
            span=8,
        ),
        graph(
            "Samples per scrape",
            "Samples each job's targets return per scrape; a jump is a cardinality explosion.",
            "short",
            [prom("sum by (job) (scrape_samples_scraped)", "{{job}}")],
            span=8,
        ),
        tabulate(
            "Target health",
            "Every scrape target with its last result: 1 answered, 0 failed; failed targets first.",
            "short",
            [prom("sort(up)", instant=True)],
            span=24,
        ),
    ]
    prometheus = [
        graph(
            "Rule evaluation failures",
            "Failed rule evaluations per second by rule group; a failing rule never fires its alert.",
            "ops",
            [prom(f"sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total[{RATE}]))", "{{rule_group}}")],
            span=8,
            steps=failing,
        ),
        graph(
            "Rule group time used",
            "Last evaluation duration as a share of the group's interval; at 100% iterations are skipped.",
            "percentunit",
            [
                prom(
                    "max by (rule_group) (prometheus_rule_group_last_duration_seconds"
                    " / prometheus_rule_group_interval_seconds)",
                    "{{rule_group}}",
                )
            ],
            span=8,
        ),
        graph(
            "Missed rule iterations",
            "Rule group evaluations skipped per second because the previous one was still running.",
            "ops",
            [
                prom(
                    f"sum by (rule_group) (rate(prometheus_rule_group_iterations_missed_total[{RATE}]))",
                    "{{rule_group}}",
                )
            ],
            span=8,
            steps=failing,
        ),
        graph(
            "Head series",
            "Series in Prometheus' in-memory head block: the main driver of its memory use.",
            "short",
            [prom("prometheus_tsdb_head_series", "{{instance}}")],
            span=8,
        ),
        graph(
            "TSDB and WAL problems",
            "Failed compactions and WAL corruptions per second; either means data loss is near.",
            "ops",
            [
                prom(f"rate(prometheus_tsdb_compactions_failed_total[{RATE}])", "{{instance}} compactions failed"),
                prom(f"rate(prometheus_tsdb_wal_corruptions_total[{RATE}])", "{{instance}} WAL corruptions"),
            ],
            span=8,
            steps=failing,
        ),
        single(
            "Config reloaded",
            "1 when Prometheus' last configuration reload succeeded; 0 means it still runs an older config.",
            "bool",
            prom("min(prometheus_config_last_reload_successful)"),
            span=8,
            height=8,
            steps=thresholds((None, RED), (1, GREEN)),
        ),
    ]
    alerting = [
        graph(
            "Alerts sent to Alertmanager",
            "Alerts per second Prometheus sent, failed to send, or dropped before sending.",
            "ops",
            [
                prom(f"sum(rate(prometheus_notifications_sent_total[{RATE}]))", "sent"),
                prom(f"sum(rate(prometheus_notifications_errors_total[{RATE}]))", "errors"),
                prom(f"sum(rate(prometheus_notifications_dropped_total[{RATE}]))", "dropped"),
            ],
            span=8,
        ),
        graph(
            "Notifications by integration",
            "Notifications per second Alertmanager attempted and failed, per integration (email, webhook...).",
            "ops",
            [
                prom(f"sum by (integration) (rate(alertmanager_notifications_total[{RATE}]))", "{{integration}} sent"),
                prom(
                    f"sum by (integration) (rate(alertmanager_notifications_failed_total[{RATE}]))",
                    "{{integration}} failed",
                ),
            ],
            span=8,
        ),
        graph(
            "Firing alerts",
            "Alerts currently firing, by name and severity.",
            "short",
            [prom('sum by (alertname, severity) (ALERTS{alertstate="firing"})', "{{alertname}} ({{severity}})")],
            span=8,
        ),
    ]
    collector = [
        graph(
            "Collector accepted",
            "Items per second the collector's receivers accepted, per receiver and signal.",
            "ops",
            _per_signal("otelcol_receiver_accepted_{}", "receiver", "{{receiver}}"),
            span=8,
        ),
        graph(
            "Collector refused",
            "Items per second receivers refused (memory limiter or a full pipeline): senders see errors.",
            "ops",
            _per_signal("otelcol_receiver_refused_{}", "receiver", "{{receiver}}"),
            span=8,
            steps=failing,
        ),
        graph(
            "Collector dropped",
            "Items per second exporters failed to send after retries or could not queue: they are lost.",
            "ops",
            _per_signal("otelcol_exporter_send_failed_{}", "exporter", "{{exporter}} failed")
            + _per_signal("otelcol_exporter_enqueue_failed_{}", "exporter", "{{exporter}} not queued"),
            span=8,
            steps=failing,
        ),
        graph(
            "Collector export queue",
            "Fill of each exporter's sending queue; when full, new items are dropped.",
            "percentunit",
            [
                prom(
                    "max by (exporter) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)",
                    "{{exporter}}",
                )
            ],
            steps=thresholds((None, GREEN), (0.5, YELLOW), (0.8, RED)),
        ),
        graph(
            "Instrumentation drops",
            "Spans, log records and metric points services dropped before export, and failed exports.",
            "ops",
            [
                prom(
                    f"sum by (job, {c.LABEL_SIGNAL}, {c.LABEL_REASON}) "
                    f"(rate({c.TELEMETRY_DROPPED.prometheus_name}[{RATE}]))",
                    "{{job}} {{signal}} dropped ({{reason}})",
                ),
                prom(
                    f"sum by (job, {c.LABEL_SIGNAL}) (rate({c.TELEMETRY_EXPORT_FAILURES.prometheus_name}[{RATE}]))",
                    "{{job}} {{signal}} export failed",
                ),
            ],
            steps=failing,
        ),
    ]
    storage = [
        graph(
            "Loki request errors",
            "Loki requests per second answered 5xx, by route (push is ingestion, query_range is Grafana).",
            "reqps",
            [
                prom(
                    f'sum by (route) (rate(loki_request_duration_seconds_count{{status_code=~"5.."}}[{RATE}]))',
                    "{{route}}",
                )
            ],
            steps=failing,
        ),
        graph(
            "Loki and Tempo ingestion discards",
            "Log lines and spans per second Loki and Tempo discarded (rate limits, too old, too large), by reason.",
            "ops",
            [
                prom(f"sum by (reason) (rate(loki_discarded_samples_total[{RATE}]))", "loki {{reason}}"),
                prom(f"sum by (reason) (rate(tempo_discarded_spans_total[{RATE}]))", "tempo {{reason}}"),
            ],
            steps=failing,
        ),
        graph(
            "Tempo request errors",
            "Tempo requests per second answered 5xx, by route.",
            "reqps",
            [
                prom(
                    f'sum by (route) (rate(tempo_request_duration_seconds_count{{status_code=~"5.."}}[{RATE}]))',
                    "{{route}}",
                )
            ],
            steps=failing,
        ),
        graph(
            "Spans received by Tempo",
            "Spans per second Tempo's distributor received.",
            "ops",
            [prom(f"sum(rate(tempo_distributor_spans_received_total[{RATE}]))", "spans")],
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Self-monitoring: scrape health, Prometheus rules and TSDB, alert delivery, the collector, Loki and Tempo.",
        [
            ("Scrapes", scrapes),
            ("Prometheus", prometheus),
            ("Alert delivery", alerting),
            ("Telemetry pipeline", collector),
            ("Loki and Tempo", storage),
        ],
    )
