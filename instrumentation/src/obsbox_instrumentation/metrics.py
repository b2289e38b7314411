"""One recorder feeds both metric paths: OTLP push (OpenTelemetry SDK) and Prometheus pull.

Pull uses prometheus_client's multiprocess mode by default: every process writes its values to
mmap files in ``PROMETHEUS_MULTIPROC_DIR`` and the endpoint aggregates all files, so under a
pre-fork server one scrape sees every worker, including workers already recycled by
``max_requests`` (their counter files stay). The OpenTelemetry SDK's own Prometheus reader is
per-process, which is why it is not used for pull. Exemplars: OTLP carries them (trace-based
exemplar filter); the Prometheus endpoint carries them only in single-process mode
(``OBSBOX_PROMETHEUS_MULTIPROC=false``) and only in OpenMetrics exposition, because
prometheus_client's multiprocess files have no room for exemplars.

The page also carries prometheus_client's ``process_*`` metrics (CPU seconds, resident and
virtual memory, open file descriptors, start time) of the process that serves it. In
multiprocess mode that is the serving process only (the pre-fork master under the launcher or
the gunicorn hooks): prometheus_client cannot add up other processes' resource usage, so
workers' usage is not on the page.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import weakref
from typing import Any, Literal

import prometheus_client
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client import values as prom_values
from prometheus_client.multiprocess import MultiProcessCollector

from . import contract as c

_log = logging.getLogger(__name__)
METER_NAME = "obsbox_instrumentation"
MAX_PENDING = 65_536
DRAIN_BATCH = 512
DRAIN_INTERVAL_S = 0.2


def enable_multiprocess_values() -> None:
    """Make prometheus_client write mmap files even if it was imported before the dir was set.

    prometheus_client picks its value class from the environment at import time; metrics read
    ``values.ValueClass`` when they are constructed, so switching it here covers every metric
    created from now on.
    """
    if prom_values.ValueClass is prom_values.MutexValue:
        prom_values.ValueClass = prom_values.MultiProcessValue()


# Prometheus label -> OpenTelemetry attribute (the collector's translation maps them back).
OTEL_ATTRIBUTE: dict[str, str] = {
    c.LABEL_HTTP_ROUTE: "http.route",
    c.LABEL_HTTP_METHOD: "http.request.method",
    c.LABEL_HTTP_STATUS: "http.response.status_code",
    c.LABEL_SERVER_ADDRESS: "server.address",
    c.LABEL_API_VERSION: c.ATTR_API_VERSION,
    c.LABEL_TENANT: c.ATTR_TENANT,
    c.LABEL_QUEUE: "queue",
    c.LABEL_JOB_NAME: "job_name",
    c.LABEL_OUTCOME: "outcome",
    c.LABEL_SIGNAL: "signal",
    c.LABEL_REASON: "reason",
}


def otel_attribute_keys(spec: c.MetricSpec) -> set[str]:
    """The attribute keys a view keeps for this metric (everything else is dropped)."""
    return {OTEL_ATTRIBUTE[label] for label in spec.labels}


# Gauges whose value each live process contributes (summed over live processes); every other
# gauge is the same number whoever reports it (read from the broker), so the latest report wins.
_LIVESUM_GAUGES = frozenset({c.JOB_WORKERS.otel_name})


def _prometheus_metric(spec: c.MetricSpec, registry: CollectorRegistry | None) -> Any:
    """The prometheus_client metric for a contract metric (``registry`` None: multiprocess files)."""
    if spec.instrument is c.Instrument.HISTOGRAM:
        return prometheus_client.Histogram(
            spec.prometheus_name, spec.description, spec.labels, buckets=spec.buckets, registry=registry
        )
    if spec.instrument is c.Instrument.GAUGE:
        mode: Literal["livesum", "mostrecent"] = "livesum" if spec.otel_name in _LIVESUM_GAUGES else "mostrecent"
        return prometheus_client.Gauge(
            spec.prometheus_name, spec.description, spec.labels, registry=registry, multiprocess_mode=mode
        )
    if spec.instrument is c.Instrument.COUNTER:
        # prometheus_client appends _total to a counter's name itself.
        return prometheus_client.Counter(
            spec.prometheus_name.removesuffix("_total"), spec.description, spec.labels, registry=registry
        )
    raise ValueError(f"{spec.otel_name}: no Prometheus pull metric for a {spec.instrument.value}")


def _otel_instrument(meter: Any, spec: c.MetricSpec) -> Any:
    """The OpenTelemetry SDK instrument for a contract metric (the push path)."""
    if spec.instrument is c.Instrument.HISTOGRAM:
        return meter.create_histogram(
            spec.otel_name, unit=spec.unit, description=spec.description,
            explicit_bucket_boundaries_advisory=list(spec.buckets),
        )
    create = {
        c.Instrument.GAUGE: meter.create_gauge,
        c.Instrument.COUNTER: meter.create_counter,
        c.Instrument.UP_DOWN_COUNTER: meter.create_up_down_counter,
    }[spec.instrument]
    return create(spec.otel_name, unit=spec.unit, description=spec.description)


def _reinit_after_fork(weak_recorder: Any) -> None:
    recorder = weak_recorder()
    if recorder is not None:
        recorder._drain_lock = threading.Lock()
        recorder._wake = threading.Event()
        recorder._drainer_pid = 0
        # The parent's unapplied drops are the parent's to count.
        recorder._drops = {}
        recorder._drops_lock = threading.Lock()


class Recorder:
    """Records every contract metric once per observation into both paths."""

    def __init__(
        self, *, multiprocess: bool, exemplars: bool, pull: bool = True
    ) -> None:
        self.multiprocess = multiprocess
        # No /metrics endpoint: nothing reads prometheus_client's values, so none are written.
        # (prometheus_client picks mmap values from PROMETHEUS_MULTIPROC_DIR at import; a service
        # pushing OTLP with that variable left over from a pull setup would otherwise fail on
        # every observation, and lose the OTLP recording behind it.)
        self.pull = pull
        self.exemplars = exemplars and not multiprocess
        self._lock = threading.Lock()
        self.registry = CollectorRegistry(auto_describe=True)
        if multiprocess:
            enable_multiprocess_values()
            MultiProcessCollector(self.registry)
            reg: CollectorRegistry | None = None
        else:
            reg = self.registry
        ProcessCollector(registry=self.registry)
        # One prometheus_client metric per contract metric, keyed like the OpenTelemetry ones.
        self._p: dict[str, Any] = {spec.otel_name: _prometheus_metric(spec, reg) for spec in c.METRICS}
        self._children: dict[tuple[Any, ...], Any] = {}
        self._o: dict[str, Any] = {}
        # OpenTelemetry SDK recordings are deferred to a drain thread: the SDK's per-call cost
        # (attribute filtering, hashing, exemplar offer, aggregation lock) is the largest part
        # of a metric observation, and the push path needs the value only at export time.
        self._pending: collections.deque[tuple[Any, float, dict[str, Any], Any]] = collections.deque()
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._drainer_pid = 0
        # Drop counts by (signal, reason) not yet applied (see dropped()).
        self._drops: dict[tuple[str, str], int] = {}
        self._drops_lock = threading.Lock()
        # A fork while the drain thread holds its lock would leave the child's copy locked.
        weak_self = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reinit_after_fork(weak_self))

    def bind_meter_provider(self, meter_provider: Any) -> None:
        """Create the OpenTelemetry instruments (the push path)."""
        meter = meter_provider.get_meter(METER_NAME)
        self._o = {spec.otel_name: _otel_instrument(meter, spec) for spec in c.METRICS}
        # Collection runs observable callbacks before reading sync instruments: this one applies
        # the deferred recordings so every export (and test reader) sees all of them.
        meter.create_observable_gauge("obsbox.internal.flush", callbacks=[self._flush_callback])

    def _flush_callback(self, options: Any) -> list[Any]:
        self.flush()
        return []

    def _defer(self, record: Any, value: float, attributes: dict[str, Any], ctx: Any = None) -> None:
        """Queue ``record(value, attributes, ctx)`` (an SDK instrument's record or add) for the drain thread."""
        if len(self._pending) >= MAX_PENDING:
            self.dropped("metrics", "queue_full", 1)
            return
        self._pending.append((record, value, attributes, ctx))
        if self._drainer_pid != os.getpid():
            self._start_drainer()
        elif len(self._pending) >= DRAIN_BATCH:
            self._wake.set()

    def _start_drainer(self) -> None:
        self._drainer_pid = os.getpid()
        self._wake = threading.Event()
        self._drain_lock = threading.Lock()
        threading.Thread(target=self._drain_forever, name="obsbox-metrics-drain", daemon=True).start()

    def _drain_forever(self) -> None:
        while True:
            self._wake.wait(DRAIN_INTERVAL_S)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Apply every deferred recording to the SDK and the drop counts to both paths (also
        called before export and shutdown; a /metrics page applies the drop counts itself)."""
        with self._drain_lock:
            self._apply_drops()
            pending = self._pending
            while pending:
                try:
                    record, value, attributes, ctx = pending.popleft()
                except IndexError:
                    break
                try:
                    record(value, attributes, ctx)
                except Exception:
                    _log.debug("obsbox: deferred metric recording failed", exc_info=True)

    def _child(self, metric: Any, key: tuple[Any, ...]) -> Any:
        # labels() takes a lock and validates on every call; cache children (bounded because
        # every label value is from a closed or capped set).
        child = self._children.get((id(metric), *key))
        if child is None:
            child = metric.labels(*key)
            self._children[(id(metric), *key)] = child
        return child

    # --- hot path -------------------------------------------------------------------------

    def http_server(
        self, route: str, method: str, status: int, api_version: str, tenant: str, seconds: float,
        trace_id: str | None = None, ctx: Any = None,
    ) -> None:
        if self.pull:
            child = self._child(self._p[c.HTTP_SERVER_REQUEST_DURATION.otel_name], (route, method, str(status), api_version, tenant))
            if self.exemplars and trace_id:
                child.observe(seconds, {"trace_id": trace_id})
            else:
                child.observe(seconds)
        hist = self._o.get(c.HTTP_SERVER_REQUEST_DURATION.otel_name)
        if hist is not None:
            self._defer(hist.record, seconds, {
                "http.route": route, "http.request.method": method, "http.response.status_code": status,
                c.ATTR_API_VERSION: api_version, c.ATTR_TENANT: tenant,
            }, ctx)

    def http_client(self, server_address: str, method: str, status: int, seconds: float) -> None:
        if self.pull:
            self._child(self._p[c.HTTP_CLIENT_REQUEST_DURATION.otel_name], (server_address, method, str(status))).observe(seconds)
        hist = self._o.get(c.HTTP_CLIENT_REQUEST_DURATION.otel_name)
        if hist is not None:
            self._defer(hist.record, seconds, {
                "server.address": server_address, "http.request.method": method,
                "http.response.status_code": status,
            })

    def job(self, queue: str, job_name: str, outcome: str, seconds: float) -> None:
        if self.pull:
            self._child(self._p[c.JOB_DURATION.otel_name], (queue, job_name, outcome)).observe(seconds)
        hist = self._o.get(c.JOB_DURATION.otel_name)
        if hist is not None:
            self._defer(hist.record, seconds, {"queue": queue, "job_name": job_name, "outcome": outcome})

    def job_lag(self, queue: str, job_name: str, seconds: float) -> None:
        if self.pull:
            self._child(self._p[c.JOB_QUEUE_LAG.otel_name], (queue, job_name)).observe(seconds)
        hist = self._o.get(c.JOB_QUEUE_LAG.otel_name)
        if hist is not None:
            self._defer(hist.record, seconds, {"queue": queue, "job_name": job_name})

    def failed_registry(self, queue: str, count: float) -> None:
        self._set_queue_gauge(c.JOB_FAILED_REGISTRY, queue, count)

    def broker_up(self, queue: str, up: bool) -> None:
        self._set_queue_gauge(c.JOB_BROKER_UP, queue, 1 if up else 0)

    def queue_stats(self, queue: str, depth: float, oldest_age_s: float) -> None:
        self._set_queue_gauge(c.JOB_QUEUE_DEPTH, queue, depth)
        self._set_queue_gauge(c.JOB_QUEUE_OLDEST_AGE, queue, oldest_age_s)

    def workers(self, queue: str, count: float) -> None:
        self._set_queue_gauge(c.JOB_WORKERS, queue, count)

    def _set_queue_gauge(self, spec: c.MetricSpec, queue: str, value: float) -> None:
        """Set a gauge labelled by queue alone on both paths."""
        if self.pull:
            self._child(self._p[spec.otel_name], (queue,)).set(value)
        gauge = self._o.get(spec.otel_name)
        if gauge is not None:
            gauge.set(value, {"queue": queue})

    # --- DropSink (self-metrics) ----------------------------------------------------------

    def dropped(self, signal: str, reason: str, count: int) -> None:
        # Drops come in floods (a full export queue drops every item put, at the rate the service
        # produces them): each costs the service an addition here; both paths get the sums from
        # flush(), on the drain thread, before every export and before every /metrics page.
        if count <= 0:
            return
        key = (signal, reason)
        with self._drops_lock:
            self._drops[key] = self._drops.get(key, 0) + count
        if self._drainer_pid != os.getpid():
            self._start_drainer()

    def _apply_drops(self) -> None:
        with self._drops_lock:
            drops, self._drops = self._drops, {}
        counter = self._o.get(c.TELEMETRY_DROPPED.otel_name)
        for (signal, reason), count in drops.items():
            if self.pull:
                self._child(self._p[c.TELEMETRY_DROPPED.otel_name], (signal, reason)).inc(count)
            if counter is not None:
                counter.add(count, {"signal": signal, "reason": reason})

    def export_failed(self, signal: str) -> None:
        if self.pull:
            self._child(self._p[c.TELEMETRY_EXPORT_FAILURES.otel_name], (signal,)).inc()
        counter = self._o.get(c.TELEMETRY_EXPORT_FAILURES.otel_name)
        if counter is not None:
            counter.add(1, {"signal": signal})

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The Prometheus (or OpenMetrics, when accepted) text of everything recorded."""
        from prometheus_client.exposition import choose_encoder

        # Only the drop sums: the deferred OpenTelemetry recordings are the drain thread's work,
        # not a scrape's.
        self._apply_drops()
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

