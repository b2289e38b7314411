"""Helpers for testing code that obsbox instruments, as structlog.testing and prometheus_client's
registries do for theirs.

    from obsbox_instrumentation import testing

    with testing.capture(service_name="billing") as captured:
        handle_request()
        assert captured.finished_spans()[0].attributes["tenant.id"] == "acme"
        assert 'obsbox_job_duration_seconds_count{' in captured.exposition()

:func:`capture` configures obsbox with in-memory span, metric and log exporters and JSON logs
written to a string, and undoes everything on exit; :func:`reset` returns the process to the
state before configure() (runtime, OpenTelemetry's global providers, every library hook).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import runtime as rt
from .patches import unpatch_all
from .setup import configure, shutdown


@dataclass
class Captured:
    """What a captured configure() produced, with readers that flush first."""

    runtime: rt.Runtime
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter
    stdout: io.StringIO

    def finished_spans(self) -> list[Any]:
        self.runtime.tracer_provider.force_flush()
        return list(self.spans.get_finished_spans())

    def log_records(self) -> list[Any]:
        self.runtime.logger_provider.force_flush()
        return list(self.logs.get_finished_logs())

    def json_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far, parsed."""
        return [json.loads(line) for line in self.stdout.getvalue().splitlines() if line.strip()]

    def metric_points(self, name: str) -> list[Any]:
        """Every data point of the OpenTelemetry metric ``name`` collected now."""
        data = self.metrics.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def exposition(self) -> str:
        """The Prometheus page this process would serve on /metrics."""
        body, _ = self.runtime.recorder.exposition("")
        return str(body.decode())


def configure_in_memory(**kwargs: Any) -> Captured:
    """configure() with in-memory exporters (keyword arguments as configure's); call reset() after."""
    spans = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    logs = InMemoryLogRecordExporter()
    stdout = io.StringIO()
    kwargs.setdefault("service_name", "test-service")
    runtime = configure(span_exporter=spans, metric_readers=[reader], log_exporter=logs, log_stream=stdout, **kwargs)
    if runtime is None:
        raise RuntimeError("obsbox is disabled (OBSBOX_DISABLED=true): nothing to capture")
    return Captured(runtime, spans, reader, logs, stdout)


@contextmanager
def capture(**kwargs: Any) -> Iterator[Captured]:
    """configure() with in-memory exporters for the block, then :func:`reset`."""
    try:
        yield configure_in_memory(**kwargs)
    finally:
        reset()


def reset() -> None:
    """Undo configure(): flush and stop its providers, forget the runtime, clear OpenTelemetry's
    global providers (so a later configure() installs new ones) and undo every library hook."""
    shutdown(timeout=2.0)
    rt.set_current(None)
    _reset_otel_globals()
    unpatch_all()


def _reset_otel_globals() -> None:
    # OpenTelemetry sets each global provider once per process and offers no public reset; its
    # own test utilities (opentelemetry-test-utils) reset these same attributes.
    from opentelemetry import trace
    from opentelemetry._logs import _internal as logs_internal
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
