"""Exporter selection from OTEL_* variables, and outgoing calls that get no response."""

from __future__ import annotations

import importlib.util
import logging
import os
from typing import Any

import pytest
import requests
from obsbox_instrumentation.settings import resolve_settings
from obsbox_instrumentation.setup import _otlp_factory, _timeout


def test_http_protobuf_is_the_default_protocol() -> None:
    """Without OTEL_EXPORTER_OTLP_PROTOCOL the span exporter is OTLP/HTTP with obsbox's short timeout."""
    exporter = _otlp_factory("traces", resolve_settings({}))()  # type: ignore[misc]
    assert type(exporter).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    assert _timeout("traces", resolve_settings({})) == 3.0


def test_otel_timeout_variable_wins_over_obsbox_default() -> None:
    """OTEL_EXPORTER_OTLP_TIMEOUT set by the user replaces obsbox's default (the exporter reads it)."""
    assert _timeout("traces", resolve_settings({"OBSBOX_EXPORT_TIMEOUT": "1.5"})) == 1.5
    os.environ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "7"
    assert _timeout("traces", resolve_settings({"OBSBOX_EXPORT_TIMEOUT": "1.5"})) is None


def test_exporter_none_disables_a_signal() -> None:
    """OTEL_LOGS_EXPORTER=none gives no log exporter at all."""
    os.environ["OTEL_LOGS_EXPORTER"] = "none"
    assert _otlp_factory("logs", resolve_settings({})) is None


def test_grpc_without_the_extra_falls_back_with_a_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc without the [grpc] extra logs how to fix it and uses HTTP."""
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is not None:
        pytest.skip("the [grpc] extra is installed in this venv, so the missing-exporter fallback cannot occur")
    os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
    with caplog.at_level(logging.ERROR, logger="obsbox_instrumentation"):
        exporter = _otlp_factory("traces", resolve_settings({}))()  # type: ignore[misc]
    assert "obsbox-instrumentation[grpc]" in caplog.text
    assert type(exporter).__module__.startswith("opentelemetry.exporter.otlp.proto.http")


def test_refused_outgoing_call_is_status_zero_and_still_raises(configure_obsbox: Any) -> None:
    """A requests call that gets no response raises to the caller as before and is observed as status 0."""
    configured = configure_obsbox()

    class Refusing(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            raise requests.ConnectionError("connection refused")

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("http://", Refusing())
    with pytest.raises(requests.ConnectionError):
        session.get("http://payments.internal/charge")
    (span,) = configured.finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert 'http_client_request_duration_seconds_count{http_request_method="GET",http_response_status_code="0",server_address="payments.internal"} 1.0' in configured.exposition()


def test_httpx_calls_are_traced_measured_and_carry_baggage(configure_obsbox: Any) -> None:
    """httpx (sync and async) sends traceparent + tenant baggage and is observed on the client histogram."""
    httpx = pytest.importorskip("httpx", reason="httpx (a dev dependency; the [httpx] extra) is not installed in this venv")
    import asyncio

    from obsbox_instrumentation import tenant_context

    configured = configure_obsbox()
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        return httpx.Response(201)

    with tenant_context("acme"):
        with httpx.Client(transport=httpx.MockTransport(handler)) as client:
            client.get("http://ledger.internal/entries?api_key=k1")

        async def call() -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
                await client.post("http://ledger.internal/entries")

        asyncio.run(call())
    assert all("tenant.id=acme" in r.headers["baggage"] and "traceparent" in r.headers for r in seen)
    text = configured.exposition()
    assert 'http_client_request_duration_seconds_count{http_request_method="GET",http_response_status_code="201",server_address="ledger.internal"} 1.0' in text
    assert 'http_request_method="POST",http_response_status_code="201"' in text
    assert all("k1" not in s.attributes["url.full"] for s in configured.finished_spans())
