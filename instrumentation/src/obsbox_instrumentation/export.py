"""The export path: bounded queues, drop accounting, scrubbing, and never raising into the app.

Why not the SDK's BatchSpanProcessor/BatchLogRecordProcessor: their deque silently discards the
oldest item when full (nothing counts it), and a failing exporter's exception surfaces in logs
only. :class:`BoundedBatcher` counts every item it drops into ``obsbox_telemetry_dropped_total``
(reasons: ``queue_full``, ``export_failed``, ``shutdown``), counts failed export calls into
``obsbox_telemetry_export_failures_total``, scrubs on the export thread (off the request path),
restarts its thread and rebuilds its exporter after ``fork()`` (gRPC channels and pooled HTTP
connections do not survive a fork), and bounds shutdown by a deadline.

A collector that is down (the usual case on a developer's machine) must not flood the app's log:
the exporters' own retry and failure lines are muted while obsbox exports, and
:class:`FailureReporter` says once per signal where export failed, why, and how to turn it off,
then stays quiet (the counters keep counting) until an export succeeds again.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan

from .contract import ATTR_TENANT
from .leanspan import LeanSpan
from .scrub import Scrubber
from .tenant import current_tenant

_log = logging.getLogger(__name__)

SIGNAL_TRACES = "traces"
SIGNAL_METRICS = "metrics"
SIGNAL_LOGS = "logs"
REASON_QUEUE_FULL = "queue_full"
REASON_EXPORT_FAILED = "export_failed"
REASON_SHUTDOWN = "shutdown"


class DropSink(Protocol):
    """Where the export path reports losses (the self-metrics)."""

    def dropped(self, signal: str, reason: str, count: int) -> None: ...

    def export_failed(self, signal: str) -> None: ...


class _ExportScope(threading.local):
    active = False
    reason: str | None = None


_export_scope = _ExportScope()
_MUTED_PREFIXES = ("opentelemetry.exporter", "urllib3")


class _MuteDuringExport(logging.Filter):
    """Drops exporter log records emitted inside obsbox's export calls, keeping the last as the
    reason for :class:`FailureReporter`'s one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _export_scope.active:
            return True
        if record.levelno >= logging.WARNING:
            with contextlib.suppress(Exception):
                _export_scope.reason = record.getMessage()
        return False


_MUTE = _MuteDuringExport()


_loggers_seen = [0]


def mute_exporter_loggers() -> None:
    """Put the filter on every exporter and urllib3 logger that exists now (logger filters apply
    only to records created on that logger, so each one needs it); called after an exporter is
    built and whenever loggers were added since (an exporter may import more modules later)."""
    known = logging.Logger.manager.loggerDict
    if len(known) == _loggers_seen[0]:
        return
    _loggers_seen[0] = len(known)
    for name in list(known):
        if name.startswith(_MUTED_PREFIXES):
            logger = logging.getLogger(name)
            if _MUTE not in logger.filters:
                logger.addFilter(_MUTE)


@contextlib.contextmanager
def exporting() -> Iterator[None]:
    """Mark this thread as inside an obsbox export (exporter log lines are muted)."""
    mute_exporter_loggers()
    _export_scope.active = True
    _export_scope.reason = None
    try:
        yield
    finally:
        _export_scope.active = False


class FailureReporter:
    """One log line per signal when export starts failing, one when it works again."""

    def __init__(self, signal: str) -> None:
        self.signal = signal
        self.failing = False

    def report(self, ok: bool, exporter: Any, error: BaseException | None = None) -> None:
        if ok:
            if self.failing:
                self.failing = False
                _log.info("obsbox: %s export to %s works again", self.signal, _endpoint(exporter))
            return
        if self.failing:
            return
        self.failing = True
        reason = repr(error) if error is not None else _export_scope.reason or "the exporter reported a failure"
        _log.warning(
            "obsbox: cannot export %s to %s: %s. obsbox keeps trying and counts what is lost in "
            "obsbox_telemetry_export_failures_total and obsbox_telemetry_dropped_total{signal=\"%s\"}; "
            "no further lines until export works again. No collector here? "
            "Set OTEL_%s_EXPORTER=none to turn %s export off.",
            self.signal, _endpoint(exporter), reason[:300], self.signal, self.signal.upper(), self.signal,
        )


def _endpoint(exporter: Any) -> str:
    endpoint = getattr(exporter, "_endpoint", None)
    return str(endpoint) if endpoint else f"the {type(exporter).__name__} endpoint"


def _is_success(result: Any) -> bool:
    # SpanExportResult / LogExportResult / LogRecordExportResult all name success SUCCESS.
    return getattr(result, "name", None) == "SUCCESS"


class BoundedBatcher:
    """A bounded queue drained by one daemon thread that calls ``export(batch)``."""

    def __init__(
        self,
        signal: str,
        exporter_factory: Callable[[], Any],
        sink: DropSink,
        *,
        max_queue_size: int,
        max_batch_size: int,
        schedule_delay_s: float,
        prepare: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self.signal = signal
        self._factory = exporter_factory
        # Built on first export, on the export thread: a pre-fork master that never exports
        # never opens a gRPC channel or HTTP connection pool that its workers would inherit.
        self._exporter: Any | None = None
        self._sink = sink
        self.max_queue_size = max_queue_size
        self.max_batch_size = min(max_batch_size, max_queue_size)
        self.schedule_delay_s = schedule_delay_s
        self._prepare = prepare
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._exporting = False
        self._export_started = 0.0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # False after a failed export: shutdown then does not wait for a collector that is down.
        self.healthy = True
        self._reporter = FailureReporter(signal)

    @property
    def exporter(self) -> Any:
        if self._exporter is None:
            self._exporter = self._factory()
            mute_exporter_loggers()
        return self._exporter

    def put(self, item: Any) -> None:
        """Enqueue or, when full, drop and count; never blocks, never raises."""
        if self._stopped:
            return
        if self._pid != os.getpid():
            self._after_fork()
        if len(self._queue) >= self.max_queue_size:
            self._sink.dropped(self.signal, REASON_QUEUE_FULL, 1)
            return
        self._queue.append(item)
        if self._thread is None:
            self._start()
        if len(self._queue) >= self.max_batch_size:
            self._wake.set()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here and its exporter's connections are shared
        # with the parent: start clean. Items queued in the parent stay the parent's job.
        self._pid = os.getpid()
        self._queue = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._exporting = False
        self._thread = None
        self._exporter = None  # rebuilt lazily by this process's own export thread

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=f"obsbox-export-{self.signal}", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        # The exporter's own HTTP calls must not be instrumented (a span per export, forever).
        otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        while not self._stopped:
            self._wake.wait(self.schedule_delay_s)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        while self._queue:
            batch: list[Any] = []
            while self._queue and len(batch) < self.max_batch_size:
                batch.append(self._queue.popleft())
            with self._idle:
                self._exporting = True
                self._export_started = time.monotonic()
            try:
                self._export(batch)
            finally:
                with self._idle:
                    self._exporting = False
                    self._idle.notify_all()

    def _export(self, batch: list[Any]) -> None:
        error: BaseException | None = None
        exporter = None
        try:
            if self._prepare is not None:
                self._prepare(batch)
            exporter = self.exporter
            with exporting():
                result = exporter.export(batch)
            ok = _is_success(result)
        except Exception as exc:
            _log.debug("obsbox: %s export raised", self.signal, exc_info=True)
            ok = False
            error = exc
        self._reporter.report(ok, exporter, error)
        self.healthy = ok
        if not ok:
            self._sink.export_failed(self.signal)
            self._sink.dropped(self.signal, REASON_EXPORT_FAILED, len(batch))

    def force_flush(self, timeout_s: float) -> bool:
        """Export what is queued; wait at most ``timeout_s``."""
        if self._thread is None or self._pid != os.getpid():
            return not self._queue
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        with self._idle:
            while self._queue or self._exporting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def shutdown(self, timeout_s: float) -> None:
        """Flush within the deadline, count what is left as dropped, shut the exporter down."""
        if self._stopped:
            return
        # An export hanging for over a second means a collector that accepts and never answers.
        hung = self._exporting and time.monotonic() - self._export_started > 1.0
        if self.healthy and not hung:
            self.force_flush(timeout_s)
        else:
            # The collector is failing: stop the exporter's retries first (OTLP exporters abort
            # their backoff on shutdown) so a recycled worker exits in moments, not seconds.
            self._close_exporter_bounded(timeout_s)
            self.force_flush(min(timeout_s, 0.2))
        self._stopped = True
        self._wake.set()
        left = len(self._queue)
        if left:
            self._queue.clear()
            self._sink.dropped(self.signal, REASON_SHUTDOWN, left)
        self._close_exporter_bounded(timeout_s)

    def _close_exporter_bounded(self, timeout_s: float) -> None:
        # The exporter's own shutdown may block on a hung collector: give it a bounded thread.
        if getattr(self, "_exporter_closed", False):
            return
        self._exporter_closed = True
        closer = threading.Thread(target=self._close_exporter, daemon=True)
        closer.start()
        closer.join(max(0.1, min(timeout_s, 1.0)))

    def _close_exporter(self) -> None:
        if self._exporter is None:
            return
        try:
            with exporting():
                self._exporter.shutdown()
        except Exception:
            _log.debug("obsbox: %s exporter shutdown raised", self.signal, exc_info=True)


class ObsboxSpanProcessor(SpanProcessor):
    """Sampled spans -> scrubbed -> bounded batcher -> span exporter."""

    def __init__(
        self, batcher: BoundedBatcher, scrubber: Scrubber, shutdown_timeout_s: float, resource: Any = None,
    ) -> None:
        self._batcher = batcher
        self._scrubber = scrubber
        self._shutdown_timeout_s = shutdown_timeout_s
        self._resource = resource
        batcher._prepare = self._scrub_batch

    @property
    def batcher(self) -> BoundedBatcher:
        return self._batcher

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._batcher.put(span)

    def _scrub_batch(self, batch: list[Any]) -> None:
        scrubber = self._scrubber
        for index, span in enumerate(batch):
            if isinstance(span, LeanSpan):
                # Lean server spans become SDK spans here, off the request path.
                span = batch[index] = span.to_readable(self._resource)
            attrs = span.attributes
            if attrs and scrubber.needs_scrub(attrs):
                span._attributes = scrubber.mapping(attrs)
            for event in span.events:
                if event.attributes and scrubber.needs_scrub(event.attributes):
                    event._attributes = scrubber.mapping(event.attributes)
            status = span.status
            if status.description and scrubber.text(status.description) != status.description:
                span._status = type(status)(status.status_code, scrubber.text(status.description))

    def shutdown(self) -> None:
        self._batcher.shutdown(self._shutdown_timeout_s)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batcher.force_flush(timeout_millis / 1000.0)


class ObsboxLogProcessor(LogRecordProcessor):
    """Log records -> tenant attribute added -> scrubbed on export -> bounded batcher."""

    def __init__(self, batcher: BoundedBatcher, scrubber: Scrubber, shutdown_timeout_s: float) -> None:
        self._batcher = batcher
        self._scrubber = scrubber
        self._shutdown_timeout_s = shutdown_timeout_s
        self.handler: ObsboxOtlpLogHandler | None = None
        batcher._prepare = self._scrub_batch

    @property
    def batcher(self) -> BoundedBatcher:
        return self._batcher

    def on_emit(self, log_record: Any) -> None:
        try:
            readable = self._readable(log_record)
        except Exception:  # never let telemetry break logging
            _log.debug("obsbox: could not convert a log record", exc_info=True)
            return
        self._batcher.put(readable)

    def _readable(self, log_record: Any) -> Any:
        api_record = getattr(log_record, "log_record", None)
        if api_record is None:
            return log_record
        tenant = current_tenant()
        record = copy.copy(api_record)
        attrs = dict(record.attributes or {})
        if tenant is not None:
            attrs[ATTR_TENANT] = tenant
        record.attributes = attrs
        # Break the reference to the request's context, as the SDK's batch processor does.
        record.context = Context()
        return ReadableLogRecord(
            log_record=record,
            resource=log_record.resource,
            instrumentation_scope=log_record.instrumentation_scope,
            limits=log_record.limits,
        )

    def _scrub_batch(self, batch: list[Any]) -> None:
        scrubber = self._scrubber
        for index, item in enumerate(batch):
            if isinstance(item, tuple) and self.handler is not None:
                item = batch[index] = self.handler.convert(item)
            record = getattr(item, "log_record", item)
            body = getattr(record, "body", None)
            if isinstance(body, str):
                record.body = scrubber.text(body)
            attrs = getattr(record, "attributes", None)
            if attrs and scrubber.needs_scrub(attrs):
                record.attributes = scrubber.mapping(attrs)

    def shutdown(self) -> None:
        self._batcher.shutdown(self._shutdown_timeout_s)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batcher.force_flush(timeout_millis / 1000.0)


class SafeMetricExporter(MetricExporter):
    """Wraps a metric exporter: failures are counted, never raised; rebuilt after fork."""

    def __init__(
        self, factory: Callable[[], MetricExporter], sink: DropSink, preferences: MetricExporter | None = None,
    ) -> None:
        # ``preferences`` supplies temporality/aggregation without building the real exporter
        # (which for gRPC would open a channel in a pre-fork master); the real one is lazy.
        self._factory = factory
        self._inner: MetricExporter | None = None
        self._pid = os.getpid()
        self._sink = sink
        self._reporter = FailureReporter(SIGNAL_METRICS)
        source = preferences if preferences is not None else self._get_inner()
        super().__init__(
            preferred_temporality=getattr(source, "_preferred_temporality", None),
            preferred_aggregation=getattr(source, "_preferred_aggregation", None),
        )

    def _get_inner(self) -> MetricExporter:
        if self._inner is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._inner = self._factory()
            mute_exporter_loggers()
        return self._inner

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if count_points(metrics_data) == 0:
            return MetricExportResult.SUCCESS  # nothing to say; do not wake the exporter
        token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        error: BaseException | None = None
        inner = None
        try:
            inner = self._get_inner()
            with exporting():
                result = inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            ok = result is MetricExportResult.SUCCESS
        except Exception as exc:
            _log.debug("obsbox: metric export raised", exc_info=True)
            ok = False
            error = exc
            result = MetricExportResult.FAILURE
        finally:
            otel_context.detach(token)
        self._reporter.report(ok, inner, error)
        if not ok:
            self._sink.export_failed(SIGNAL_METRICS)
            self._sink.dropped(SIGNAL_METRICS, REASON_EXPORT_FAILED, count_points(metrics_data))
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        if self._inner is None:
            return True
        try:
            return bool(self._inner.force_flush(timeout_millis=timeout_millis))
        except Exception:
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if self._inner is None:
            return
        try:
            with exporting():
                self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)
        except Exception:
            _log.debug("obsbox: metric exporter shutdown raised", exc_info=True)


def count_points(metrics_data: MetricsData | None) -> int:
    """Data points in one export (what is lost when it fails)."""
    total = 0
    if metrics_data is None:
        return 0
    for rm in metrics_data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points: Sequence[Any] = getattr(metric.data, "data_points", ())
                total += len(points)
    return total


# LogRecord attributes that are the record's own machinery, not user data (as the SDK's handler).
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName",
}
_SEVERITY_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_OWN_LOGGERS = ("opentelemetry", "obsbox_instrumentation", "urllib3")
# Set on a LogRecord by the JSON formatter: (message, span context, tenant), reused by the OTLP handler.
SHARED_KEY = "_obsbox_shared"


def severity_number(levelno: int) -> Any:
    """stdlib level -> OpenTelemetry SeverityNumber (DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21)."""
    if levelno < logging.DEBUG:
        return SeverityNumber.TRACE
    base = min(max(levelno, logging.DEBUG), logging.CRITICAL)
    # Each stdlib decade maps to one OpenTelemetry range of four values.
    return SeverityNumber(5 + 4 * (base // 10 - 1) + min(base % 10, 3))


class ObsboxOtlpLogHandler(logging.Handler):
    """stdlib logging -> OTLP with the conversion done on the export thread.

    On the logging call it keeps only what is lost later: the formatted message, the active
    span's context and the tenant. Building the OpenTelemetry record (attributes, severity,
    code location, exception fields) happens when the batch is exported.
    """

    def __init__(self, batcher: BoundedBatcher, resource: Any) -> None:
        super().__init__(logging.NOTSET)
        self._batcher = batcher
        self._resource = resource
        self._scopes: dict[str, InstrumentationScope] = {}

    def emit(self, record: logging.LogRecord) -> None:
        # The SDK's and obsbox's own complaints (a collector being down) are not sent to that
        # collector: they would fail, log again and loop.
        if record.name.startswith(_OWN_LOGGERS) or threading.current_thread().name.startswith("obsbox-"):
            return
        try:
            # The JSON formatter (which runs first) leaves what it already looked up.
            shared = record.__dict__.get(SHARED_KEY)
            if shared is None:
                shared = (record.getMessage(), trace.get_current_span().get_span_context(), current_tenant())
            self._batcher.put((record, shared[0], shared[1], shared[2], time.time_ns()))
        except Exception:  # logging must never fail because of telemetry
            pass

    def convert(self, item: tuple[Any, ...]) -> Any:
        """The SDK ReadableLogRecord for a queued item (export thread)."""
        import traceback

        record, message, span_ctx, tenant, observed = item
        attributes: dict[str, Any] = {
            k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and k != SHARED_KEY
        }
        attributes["code.file.path"] = record.pathname
        attributes["code.function.name"] = record.funcName
        attributes["code.line.number"] = record.lineno
        if tenant is not None:
            attributes[ATTR_TENANT] = tenant
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            attributes["exception.type"] = exc_type.__name__
            if exc is not None and exc.args:
                attributes["exception.message"] = str(exc.args[0])
            attributes["exception.stacktrace"] = "".join(traceback.format_exception(exc_type, exc, tb))
        ctx = trace.set_span_in_context(NonRecordingSpan(span_ctx)) if span_ctx.is_valid else Context()
        api_record = ApiLogRecord(
            timestamp=int(record.created * 1e9), observed_timestamp=observed, context=ctx,
            severity_text=_SEVERITY_TEXT.get(record.levelname, record.levelname),
            severity_number=severity_number(record.levelno), body=message, attributes=attributes,
        )
        scope = self._scopes.get(record.name)
        if scope is None:
            scope = self._scopes[record.name] = InstrumentationScope(record.name)
        return ReadableLogRecord(log_record=api_record, resource=self._resource, instrumentation_scope=scope)
