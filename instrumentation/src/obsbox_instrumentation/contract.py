"""The signal contract: every metric, label and log field that obsbox emits, declared as data.

Dashboards and alert rules may only use names declared here or emitted by a known exporter
(``KNOWN_EXPORTER_METRICS``); the kit's tests check that, and a tier-2 test scrapes a real
instrumented service to prove the names below are what actually appears in Prometheus.

Naming follows the OpenTelemetry -> Prometheus compatibility rules: dots become underscores,
the unit becomes a suffix (``_seconds``), counters end in ``_total``. The service is identified by
the Prometheus ``job`` label on both paths: a direct scrape names its job after the service, and
the collector's Prometheus translation maps ``service.name`` to ``job`` and
``service.instance.id`` to ``instance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Instrument(str, Enum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"
    UP_DOWN_COUNTER = "updowncounter"


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its OpenTelemetry name and the Prometheus name it becomes."""

    otel_name: str
    prometheus_name: str
    instrument: Instrument
    unit: str
    description: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def prometheus_series_names(self) -> tuple[str, ...]:
        """Every series name this metric produces in Prometheus exposition."""
        if self.instrument is Instrument.HISTOGRAM:
            return tuple(f"{self.prometheus_name}_{s}" for s in ("bucket", "sum", "count"))
        return (self.prometheus_name,)


@dataclass(frozen=True)
class LogField:
    name: str
    description: str
    always: bool


# Labels (Prometheus spelling; the OpenTelemetry attribute is the same with dots).
LABEL_HTTP_ROUTE = "http_route"
LABEL_HTTP_METHOD = "http_request_method"
LABEL_HTTP_STATUS = "http_response_status_code"
LABEL_SERVER_ADDRESS = "server_address"
LABEL_API_VERSION = "api_version"
LABEL_TENANT = "tenant_id"
LABEL_QUEUE = "queue"
LABEL_JOB_NAME = "job_name"
LABEL_OUTCOME = "outcome"
LABEL_SIGNAL = "signal"
LABEL_REASON = "reason"

# OpenTelemetry attribute names for the same things.
ATTR_TENANT = "tenant.id"
ATTR_API_VERSION = "api.version"
BAGGAGE_TENANT = "tenant.id"

# Every tenant outside the top N by traffic is folded into this one value on metrics.
TENANT_OTHER = "__other__"
# A request that carries no tenant at all.
TENANT_NONE = "__none__"
DEFAULT_TENANT_TOP_N = 20

# Job outcomes on obsbox_job_duration_seconds.
OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
OUTCOME_RETRY = "retry"
# The job did not run to an end of its own: cancelled (Celery revoke, RQ stop), killed by the
# library's time limit, or lost with the process running it (a pool child or work horse that
# died: OOM kill, segfault).
OUTCOME_REVOKED = "revoked"
OUTCOME_TIMEOUT = "timeout"
OUTCOME_ABANDONED = "abandoned"
JOB_OUTCOMES = (OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_RETRY, OUTCOME_REVOKED, OUTCOME_TIMEOUT, OUTCOME_ABANDONED)

# The stable semantic conventions' advice for http.*.request.duration, in seconds.
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# Background jobs run for seconds to hours.
# Waiting time in the queue, from enqueue (or the ETA, when later) to the start of execution.
JOB_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
JOB_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

# Health and probe routes a load balancer or orchestrator polls. They are not traffic: the
# instrumentation leaves them out of http.server.request.duration (OBSBOX_SLI_EXCLUDE_ROUTES
# changes the list) and the SLO rules drop them again for services instrumented otherwise.
SLI_EXCLUDED_ROUTES: tuple[str, ...] = ("/healthz", "/livez", "/readyz", "/health", "/metrics")

_SECONDS = "s"
_QUEUE_ONLY = (LABEL_QUEUE,)


def _metric(
    otel_name: str, instrument: Instrument, unit: str, labels: tuple[str, ...], description: str,
    buckets: tuple[float, ...] = (),
) -> MetricSpec:
    """A metric whose Prometheus name follows from the rules above, so it is never spelled twice."""
    prometheus_name = otel_name.replace(".", "_")
    if unit == _SECONDS:
        prometheus_name += "_seconds"
    if instrument is Instrument.COUNTER:
        prometheus_name += "_total"
    return MetricSpec(otel_name, prometheus_name, instrument, unit, description, labels, buckets)


# OpenTelemetry name, instrument, unit, labels, then the description (and histogram buckets).
HTTP_SERVER_REQUEST_DURATION = _metric(
    "http.server.request.duration", Instrument.HISTOGRAM, _SECONDS,
    (LABEL_HTTP_ROUTE, LABEL_HTTP_METHOD, LABEL_HTTP_STATUS, LABEL_API_VERSION, LABEL_TENANT),
    "Duration of HTTP server requests (stable semantic conventions).", HTTP_DURATION_BUCKETS,
)
HTTP_CLIENT_REQUEST_DURATION = _metric(
    "http.client.request.duration", Instrument.HISTOGRAM, _SECONDS, (LABEL_SERVER_ADDRESS, LABEL_HTTP_METHOD, LABEL_HTTP_STATUS),
    "Duration of outgoing HTTP requests to dependencies; status 0 means no response (timeout, refused).",
    HTTP_DURATION_BUCKETS,
)
JOB_DURATION = _metric(
    "obsbox.job.duration", Instrument.HISTOGRAM, _SECONDS, (LABEL_QUEUE, LABEL_JOB_NAME, LABEL_OUTCOME),
    "Duration of background jobs by queue, job name and outcome (success, failure, retry, revoked, timeout, abandoned).",
    JOB_DURATION_BUCKETS,
)
JOB_QUEUE_LAG = _metric(
    "obsbox.job.queue.lag", Instrument.HISTOGRAM, _SECONDS, (LABEL_QUEUE, LABEL_JOB_NAME),
    "Time a job waited in the queue before it started (start minus enqueue or ETA).", JOB_LAG_BUCKETS,
)
JOB_QUEUE_DEPTH = _metric("obsbox.job.queue.depth", Instrument.GAUGE, "{job}", _QUEUE_ONLY, "Jobs waiting in the queue.")
JOB_QUEUE_OLDEST_AGE = _metric(
    "obsbox.job.queue.oldest_age", Instrument.GAUGE, _SECONDS, _QUEUE_ONLY,
    "Age of the oldest job waiting in the queue (0 when the queue is empty).",
)
JOB_WORKERS = _metric(
    "obsbox.job.workers", Instrument.GAUGE, "{worker}", _QUEUE_ONLY, "Worker processes alive and consuming the queue."
)
JOB_FAILED_REGISTRY = _metric(
    "obsbox.job.failed_registry", Instrument.GAUGE, "{job}", _QUEUE_ONLY,
    "Jobs held in the library's store of failed jobs (RQ's FailedJobRegistry), read from the broker.",
)
JOB_BROKER_UP = _metric(
    "obsbox.job.broker.up", Instrument.GAUGE, "{up}", _QUEUE_ONLY,
    "1 when the last read of the queue's broker succeeded, 0 when the broker did not answer.",
)
TELEMETRY_DROPPED = _metric(
    "obsbox.telemetry.dropped", Instrument.COUNTER, "{item}", (LABEL_SIGNAL, LABEL_REASON),
    "Spans, log records or metric points dropped by obsbox's bounded export queues.",
)
TELEMETRY_EXPORT_FAILURES = _metric(
    "obsbox.telemetry.export.failures", Instrument.COUNTER, "{export}", (LABEL_SIGNAL,),
    "Export calls to the collector that failed or timed out.",
)

METRICS: tuple[MetricSpec, ...] = (
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_CLIENT_REQUEST_DURATION,
    JOB_DURATION,
    JOB_QUEUE_LAG,
    JOB_QUEUE_DEPTH,
    JOB_QUEUE_OLDEST_AGE,
    JOB_WORKERS,
    JOB_FAILED_REGISTRY,
    JOB_BROKER_UP,
    TELEMETRY_DROPPED,
    TELEMETRY_EXPORT_FAILURES,
)

# Labels every scraped series carries besides its own: added by Prometheus (job, instance) or by
# the collector's translation of the resource.
TARGET_LABELS = ("job", "instance")

LOG_FIELDS: tuple[LogField, ...] = (
    LogField("timestamp", "RFC 3339 time with milliseconds, UTC.", always=True),
    LogField("level", "Lower-case level name: debug, info, warning, error, critical.", always=True),
    LogField("message", "The formatted message.", always=True),
    LogField("logger", "The stdlib logger name.", always=True),
    LogField("service", "service.name of the resource.", always=True),
    LogField("trace_id", "32 hex digits of the active span's trace, when there is one.", always=False),
    LogField("span_id", "16 hex digits of the active span, when there is one.", always=False),
    LogField("tenant_id", "The tenant of the current request or job, when known.", always=False),
    LogField("exception", "Formatted traceback, when the record carries exc_info.", always=False),
)

# Metrics from exporters obsbox deploys but does not write itself; rules and dashboards may use
# them. Prefixes, because each exporter emits many.
KNOWN_EXPORTER_PREFIXES: tuple[str, ...] = (
    "node_",  # node_exporter
    "prometheus_",  # Prometheus' own telemetry
    "alertmanager_",  # Alertmanager's own telemetry
    "otelcol_",  # the collector's own telemetry
    "loki_",  # Loki's own telemetry
    "tempo_",  # Tempo's own telemetry
    "grafana_",  # Grafana's own telemetry
    "process_",  # every Go and Python client
    "go_",
    "python_",
    "target_info",
    "scrape_",  # synthetic series Prometheus adds per scrape
)
KNOWN_EXPORTER_METRICS: tuple[str, ...] = ("up", "ALERTS", "ALERTS_FOR_STATE")


def metric_by_prometheus_name(series_name: str) -> MetricSpec | None:
    """The declared metric a Prometheus series name belongs to (``_bucket`` etc. included)."""
    for spec in METRICS:
        if series_name in spec.prometheus_series_names or series_name == spec.prometheus_name:
            return spec
    return None


def is_declared_series(series_name: str) -> bool:
    """True when rules and dashboards may use this series name."""
    if metric_by_prometheus_name(series_name) is not None:
        return True
    if series_name in KNOWN_EXPORTER_METRICS:
        return True
    return series_name.startswith(KNOWN_EXPORTER_PREFIXES)
