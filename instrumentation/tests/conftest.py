"""Fixtures for the instrumentation package's unit tests: configure() with in-memory exporters,
and a full reset of every global it touches afterwards (OpenTelemetry providers, environment,
prometheus_client's value class, logging handlers, library patches)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as InMemoryLogExporter
except ImportError:  # older SDKs
    from opentelemetry.sdk._logs.export import InMemoryLogExporter  # type: ignore[assignment]
import obsbox_instrumentation as obsbox
from obsbox_instrumentation import runtime as rt
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import values as prom_values


def reset_otel_globals() -> None:
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


@pytest.fixture(autouse=True)
def isolated_globals(tmp_path: Any) -> Iterator[None]:
    """Every test starts unconfigured, with a clean environment, and leaves nothing behind."""
    saved_env = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("OTEL_", "OBSBOX_")) or key == "PROMETHEUS_MULTIPROC_DIR":
            del os.environ[key]
    os.environ["OBSBOX_PROMETHEUS_PORT"] = "0"  # never the fixed default port in tests
    saved_value_class = prom_values.ValueClass
    yield
    obsbox.shutdown(timeout=2.0)
    rt.set_current(None)
    reset_otel_globals()
    prom_values.ValueClass = saved_value_class
    from obsbox_instrumentation.httpclient import unpatch_requests
    from obsbox_instrumentation.wsgi import unpatch_flask

    unpatch_requests()
    from obsbox_instrumentation.httpclient import unpatch_httpx

    unpatch_httpx()
    unpatch_flask()
    from obsbox_instrumentation.asgi import unpatch_starlette

    unpatch_starlette()
    from obsbox_instrumentation.djangohook import unpatch_django

    unpatch_django()
    from obsbox_instrumentation import celeryhook, queues, rqhook

    celeryhook.uninstall()
    rqhook.uninstall()
    queues.unwatch_all()
    os.environ.clear()
    os.environ.update(saved_env)


@dataclass
class Configured:
    runtime: rt.Runtime
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogExporter
    stdout: io.StringIO

    def finished_spans(self) -> list[Any]:
        self.runtime.tracer_provider.force_flush()
        return list(self.spans.get_finished_spans())

    def log_records(self) -> list[Any]:
        self.runtime.logger_provider.force_flush()
        return list(self.logs.get_finished_logs())

    def json_lines(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.stdout.getvalue().splitlines() if line.strip()]

    def metric_points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def exposition(self) -> str:
        body, _ = self.runtime.recorder.exposition("")
        return body.decode()


@pytest.fixture
def configure_obsbox() -> Any:
    """Call as ``configure_obsbox(**kwargs)``; in-memory exporters, JSON logs captured."""

    def _configure(**kwargs: Any) -> Configured:
        spans = InMemorySpanExporter()
        reader = InMemoryMetricReader()
        logs = InMemoryLogExporter()
        stdout = io.StringIO()
        kwargs.setdefault("service_name", "unit-svc")
        runtime = obsbox.configure(
            span_exporter=spans, metric_readers=[reader], log_exporter=logs, log_stream=stdout, **kwargs
        )
        assert runtime is not None
        return Configured(runtime, spans, reader, logs, stdout)

    return _configure
