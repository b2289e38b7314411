"""stdlib logging as JSON lines, and the OTLP log records next to them."""

from __future__ import annotations

import logging
from typing import Any

from obsbox_instrumentation import tenant_context
from obsbox_instrumentation.contract import LOG_FIELDS


def test_json_line_has_contract_fields_and_correlation(configure_obsbox: Any) -> None:
    """Inside a span and a tenant, a log line has timestamp..service plus trace, span and tenant ids."""
    configured = configure_obsbox()
    with tenant_context("acme"), configured.runtime.tracer.start_as_current_span("work") as span:
        logging.getLogger("billing").info("charged %d cents", 250)
    (line,) = configured.json_lines()
    always = {f.name for f in LOG_FIELDS if f.always}
    assert always <= set(line)
    assert line["message"] == "charged 250 cents"
    assert line["level"] == "info" and line["logger"] == "billing" and line["service"] == "unit-svc"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert line["tenant_id"] == "acme"
    assert line["timestamp"].endswith("Z") and len(line["timestamp"]) == 24


def test_json_line_keeps_extra_fields(configure_obsbox: Any) -> None:
    """Fields passed with extra= appear as top-level keys; reserved names do not get overwritten."""
    configured = configure_obsbox()
    logging.getLogger("jobs").warning("retrying", extra={"attempt": 3, "queue": "emails", "service": "fake"})
    (line,) = configured.json_lines()
    assert line["attempt"] == 3 and line["queue"] == "emails"
    assert line["service"] == "unit-svc" and line["extra_service"] == "fake"


def test_json_line_without_span_has_no_trace_id(configure_obsbox: Any) -> None:
    """Outside any span and tenant, trace_id, span_id and tenant_id are absent, not empty."""
    configured = configure_obsbox()
    logging.getLogger("boot").info("starting")
    (line,) = configured.json_lines()
    assert "trace_id" not in line and "span_id" not in line and "tenant_id" not in line


def test_json_line_carries_formatted_exception(configure_obsbox: Any) -> None:
    """logger.exception() puts the traceback in the exception field."""
    configured = configure_obsbox()
    try:
        raise ValueError("bad input")
    except ValueError:
        logging.getLogger("api").exception("failed")
    (line,) = configured.json_lines()
    assert "ValueError: bad input" in line["exception"]


def test_otlp_log_record_has_tenant_and_trace(configure_obsbox: Any) -> None:
    """The OTLP log record carries tenant.id as an attribute and the active trace id."""
    configured = configure_obsbox()
    with tenant_context("acme"), configured.runtime.tracer.start_as_current_span("work") as span:
        logging.getLogger("billing").info("charged")
    (record,) = configured.log_records()
    assert record.log_record.attributes["tenant.id"] == "acme"
    assert record.log_record.trace_id == span.get_span_context().trace_id
    assert record.resource.attributes["service.name"] == "unit-svc"
