"""The lean request-path pieces: sampling of lean spans, OTLP log conversion, single-process exemplars."""

from __future__ import annotations

import logging
import os
from typing import Any

import flask
from obsbox_instrumentation.export import severity_number
from obsbox_instrumentation.leanspan import LeanSpan, LeanTracer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind


def test_lean_tracer_follows_the_ratio_sampler() -> None:
    """With ratio 0.25, about a quarter of 4,000 root spans are recorded (same rule as the SDK)."""
    ended: list[Any] = []
    tracer = LeanTracer(ParentBased(TraceIdRatioBased(0.25)), ended.append)
    recorded = sum(isinstance(tracer.start_span("GET", None, SpanKind.SERVER, {}), LeanSpan) for _ in range(4000))
    assert 800 < recorded < 1200


def test_lean_tracer_uses_custom_samplers() -> None:
    """A sampler obsbox has no fast path for is asked through should_sample."""
    provider = TracerProvider(sampler=TraceIdRatioBased(0.0))
    tracer = LeanTracer(provider.sampler, lambda span: None)
    assert not tracer.start_span("GET", None, SpanKind.SERVER, {}).is_recording()


def test_lean_span_becomes_an_sdk_span_with_exception_event() -> None:
    """A lean span converts to a ReadableSpan with its attributes, status and exception event."""
    ended: list[Any] = []
    span = LeanTracer(ParentBased(TraceIdRatioBased(1.0)), ended.append).start_span(
        "GET", None, SpanKind.SERVER, {"url.path": "/x"}
    )
    span.record_exception(ValueError("bad"))
    span.set_attribute("http.response.status_code", 500)
    span.end()
    (readable,) = [s.to_readable(None) for s in ended]
    assert readable.attributes == {"url.path": "/x", "http.response.status_code": 500}
    assert readable.events[0].attributes["exception.type"] == "ValueError"
    assert readable.end_time >= readable.start_time


def test_severity_numbers_match_opentelemetry() -> None:
    """stdlib levels map to OpenTelemetry's DEBUG/INFO/WARN/ERROR/FATAL numbers."""
    assert [severity_number(x).value for x in (10, 20, 30, 40, 50)] == [5, 9, 13, 17, 21]


def test_otlp_log_record_carries_extras_and_exception(configure_obsbox: Any) -> None:
    """Converted OTLP log records keep extra= fields, the severity and exception attributes."""
    configured = configure_obsbox()
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("api").error("lookup failed", exc_info=True, extra={"order_id": 7})
    (record,) = configured.log_records()
    attrs = record.log_record.attributes
    assert record.log_record.body == "lookup failed"
    assert record.log_record.severity_text == "ERROR"
    assert attrs["order_id"] == 7 and attrs["exception.type"] == "KeyError"


def test_single_process_mode_serves_exemplars_in_openmetrics(configure_obsbox: Any) -> None:
    """With OBSBOX_PROMETHEUS_MULTIPROC=false the OpenMetrics page carries the request's trace id."""
    os.environ["OBSBOX_PROMETHEUS_MULTIPROC"] = "false"
    configured = configure_obsbox()
    app = flask.Flask("exemplars")
    app.add_url_rule("/ping", "ping", lambda: "pong")
    with app.test_client() as client:
        client.get("/ping").close()
    (span,) = configured.finished_spans()
    body, content_type = configured.runtime.recorder.exposition("application/openmetrics-text")
    assert content_type.startswith("application/openmetrics-text")
    assert f'trace_id="{format(span.context.trace_id, "032x")}"' in body.decode()
    assert configured.runtime.multiproc_dir is None


def test_unexportable_attribute_is_dropped_not_the_batch(configure_obsbox: Any) -> None:
    """A view that sets a dict-valued attribute on the server span still gets its span exported."""
    from opentelemetry import trace

    configured = configure_obsbox()
    app = flask.Flask("badattr")

    def view() -> str:
        trace.get_current_span().set_attribute("order", {"id": 1})
        trace.get_current_span().set_attribute("order.id", 1)
        return "ok"

    app.add_url_rule("/o", "o", view)
    with app.test_client() as client:
        client.get("/o").close()
    (span,) = configured.finished_spans()
    assert span.attributes["order.id"] == 1 and "order" not in span.attributes
