"""The export path: bounded queues, drops counted, failures counted, bounded shutdown."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from obsbox_instrumentation.export import BoundedBatcher
from opentelemetry.sdk.trace.export import SpanExportResult


class CountingSink:
    def __init__(self) -> None:
        self.drops: dict[tuple[str, str], int] = {}
        self.failures = 0

    def dropped(self, signal: str, reason: str, count: int) -> None:
        self.drops[(signal, reason)] = self.drops.get((signal, reason), 0) + count

    def export_failed(self, signal: str) -> None:
        self.failures += 1


class BlockingExporter:
    """Hangs like a collector that accepts the connection and never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.exported: list[Any] = []

    def export(self, batch: list[Any]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(10)
        self.exported.extend(batch)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        threading.Event().wait(0.01)
    return predicate()


def test_full_queue_drops_and_counts_without_blocking() -> None:
    """With the exporter hung, items beyond the queue bound are dropped, counted, and put() stays fast."""
    exporter = BlockingExporter()
    sink = CountingSink()
    batcher = BoundedBatcher("traces", lambda: exporter, sink, max_queue_size=10, max_batch_size=1, schedule_delay_s=0.01)
    batcher.put("first")
    assert exporter.entered.wait(5)
    started = time.perf_counter()
    for i in range(100):
        batcher.put(i)
    elapsed = time.perf_counter() - started
    assert sink.drops[("traces", "queue_full")] == 90
    assert elapsed < 1.0  # 100 puts against a hung exporter: nowhere near one export timeout
    exporter.release.set()
    batcher.shutdown(2.0)


def test_failed_exports_are_counted_as_failures_and_drops() -> None:
    """An exporter that raises is counted once per call and its batch counted as dropped."""
    sink = CountingSink()

    class Raising:
        def export(self, batch: list[Any]) -> Any:
            raise ConnectionError("collector down")

        def shutdown(self) -> None:
            pass

    batcher = BoundedBatcher("logs", Raising, sink, max_queue_size=100, max_batch_size=5, schedule_delay_s=0.01)
    for i in range(5):
        batcher.put(i)
    batcher.force_flush(5.0)
    assert sink.failures == 1
    assert sink.drops[("logs", "export_failed")] == 5
    batcher.shutdown(1.0)


def test_shutdown_is_bounded_with_a_hung_collector() -> None:
    """shutdown(0.3) returns in well under a second although the exporter never answers."""
    exporter = BlockingExporter()
    exporter.shutdown = lambda: None  # type: ignore[method-assign]
    sink = CountingSink()
    batcher = BoundedBatcher("traces", lambda: exporter, sink, max_queue_size=100, max_batch_size=1, schedule_delay_s=0.01)
    for i in range(5):
        batcher.put(i)
    assert exporter.entered.wait(5)
    started = time.monotonic()
    batcher.shutdown(0.3)
    assert time.monotonic() - started < 2.0
    assert sink.drops[("traces", "shutdown")] >= 1
    exporter.release.set()


def test_drops_reach_the_self_metric(configure_obsbox: Any) -> None:
    """Spans dropped by a full queue show up in obsbox_telemetry_dropped_total{signal="traces"}."""
    import os

    os.environ["OTEL_BSP_MAX_QUEUE_SIZE"] = "3"
    os.environ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "1"
    configured = configure_obsbox()
    exporter = BlockingExporter()
    configured.spans.export = exporter.export  # type: ignore[method-assign]
    tracer = configured.runtime.tracer
    with tracer.start_as_current_span("first"):
        pass
    assert exporter.entered.wait(5)
    for i in range(20):
        with tracer.start_as_current_span(f"s{i}"):
            pass
    text = configured.exposition()
    assert 'obsbox_telemetry_dropped_total{reason="queue_full",signal="traces"} 17.0' in text
    exporter.release.set()


def test_a_flood_of_drops_is_counted_exactly_on_both_paths(configure_obsbox: Any) -> None:
    """Drops from several threads at once are summed, not lost: the Prometheus page and the
    OpenTelemetry counter both show every one (they are applied in bulk, off the caller's path)."""
    configured = configure_obsbox()
    recorder = configured.runtime.recorder
    threads = [threading.Thread(target=lambda: [recorder.dropped("logs", "queue_full", 1) for _ in range(5000)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 'obsbox_telemetry_dropped_total{reason="queue_full",signal="logs"} 20000.0' in configured.exposition()
    points = [p for p in configured.metric_points("obsbox.telemetry.dropped") if p.attributes.get("signal") == "logs"]
    assert [p.value for p in points] == [20000]


def test_export_failures_reach_the_self_metric(configure_obsbox: Any) -> None:
    """A failing span export increments obsbox_telemetry_export_failures_total{signal="traces"}."""
    configured = configure_obsbox()
    configured.spans.export = lambda batch: SpanExportResult.FAILURE  # type: ignore[method-assign]
    with configured.runtime.tracer.start_as_current_span("x"):
        pass
    configured.runtime.tracer_provider.force_flush()
    assert 'obsbox_telemetry_export_failures_total{signal="traces"} 1.0' in configured.exposition()


def test_shutdown_after_failures_does_not_wait_for_retries() -> None:
    """Once exports fail, shutdown stops the exporter's retrying at once instead of waiting out the deadline."""

    class Retrying:
        def __init__(self) -> None:
            self.calls = 0
            self.release = threading.Event()
            self.retrying = threading.Event()

        def export(self, batch: list[Any]) -> SpanExportResult:
            self.calls += 1
            if self.calls > 1:  # like OTLP's backoff loop: runs until shutdown() aborts it
                self.retrying.set()
                self.release.wait(10)
            return SpanExportResult.FAILURE

        def shutdown(self) -> None:
            self.release.set()

    exporter = Retrying()
    batcher = BoundedBatcher("traces", lambda: exporter, CountingSink(), max_queue_size=100, max_batch_size=1, schedule_delay_s=0.01)
    batcher.put("a")
    batcher.force_flush(5.0)
    batcher.put("b")
    assert exporter.retrying.wait(5)
    started = time.monotonic()
    batcher.shutdown(5.0)
    assert time.monotonic() - started < 2.0


# Created at import, as the OTLP exporter modules create theirs.
_EXPORTER_LOG = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")


class RefusedExporter:
    """Fails like an OTLP exporter with no collector listening: logs its own complaint, returns FAILURE."""

    _endpoint = "http://127.0.0.1:9/v1/traces"

    def __init__(self) -> None:
        self.calls = 0
        self.ok = False

    def export(self, batch: list[Any]) -> SpanExportResult:
        self.calls += 1
        if self.ok:
            return SpanExportResult.SUCCESS
        _EXPORTER_LOG.warning("Failed to export span batch due to: ConnectionRefusedError")
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


def test_failing_export_logs_one_line_until_it_works_again(caplog: pytest.LogCaptureFixture) -> None:
    """Repeated failures give one warning (endpoint, reason, how to turn export off) and mute the exporter's own lines; recovery gives one info line."""
    exporter = RefusedExporter()
    sink = CountingSink()
    batcher = BoundedBatcher("traces", lambda: exporter, sink, max_queue_size=10, max_batch_size=1, schedule_delay_s=0.01)
    with caplog.at_level(logging.INFO):
        for i in range(5):
            batcher.put(i)
            assert wait_for(lambda n=i: exporter.calls == n + 1)
        exporter.ok = True
        batcher.put("after")
        assert wait_for(lambda: exporter.calls == 6)
        assert wait_for(lambda: any("works again" in r.getMessage() for r in caplog.records))
    batcher.shutdown(1.0)
    messages = [r.getMessage() for r in caplog.records]
    (warning,) = [m for m in messages if "cannot export" in m]
    assert "http://127.0.0.1:9/v1/traces" in warning and "ConnectionRefusedError" in warning
    assert "OTEL_TRACES_EXPORTER=none" in warning
    assert not any(m.startswith("Failed to export") for m in messages)
    assert sink.failures == 5
