"""obsbox_instrumentation.testing: what a user's own test suite gets."""

from __future__ import annotations

import logging

import flask
import obsbox_instrumentation as obsbox
from obsbox_instrumentation import runtime, testing


def test_capture_records_spans_metrics_and_logs_of_a_request_then_resets() -> None:
    """Inside capture() a Flask request yields a server span, a histogram sample and a JSON log
    line with the tenant; after it the process is unconfigured and Flask is unhooked."""
    plain_init = flask.Flask.__init__
    with testing.capture(service_name="billing") as captured:
        app = flask.Flask("billing")

        @app.get("/invoices/<int:number>")
        def invoice(number: int) -> str:
            logging.getLogger("billing").info("rendered invoice")
            return "ok"

        with app.test_client() as client:
            response = client.get("/invoices/7", headers={"X-Tenant-ID": "acme"})
            assert response.status_code == 200
            response.close()  # the server span ends when the WSGI response is closed
        (span,) = captured.finished_spans()
        assert span.attributes["http.route"] == "/invoices/<int:number>"
        assert span.attributes["tenant.id"] == "acme"
        assert 'http_route="/invoices/<int:number>"' in captured.exposition()
        lines = [line for line in captured.json_lines() if line.get("message") == "rendered invoice"]
        assert lines and lines[0]["tenant_id"] == "acme"
        assert lines[0]["trace_id"] == format(span.context.trace_id, "032x")
    assert runtime.get() is None
    assert flask.Flask.__init__ is plain_init


def test_reset_allows_a_second_configuration_with_new_providers() -> None:
    """configure() after reset() installs fresh global providers (OpenTelemetry sets them once)."""
    from opentelemetry import trace

    first = testing.configure_in_memory(service_name="one", prometheus=False)
    testing.reset()
    second = testing.configure_in_memory(service_name="two", prometheus=False)
    assert second.runtime is not first.runtime
    assert trace.get_tracer_provider() is second.runtime.tracer_provider
    assert obsbox.configure() is second.runtime
