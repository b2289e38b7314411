"""Exporter selection from OTEL_* variables, and outgoing calls that get no response."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import obsbox_instrumentation as obsbox
import pytest
import requests
from obsbox_instrumentation.exporters import choose_exporter, exporter_factory
from obsbox_instrumentation.settings import SettingsError, resolve_settings


def test_http_protobuf_is_the_default_protocol() -> None:
    """Without OTEL_EXPORTER_OTLP_PROTOCOL the span exporter is OTLP/HTTP with obsbox's short timeout."""
    choice = choose_exporter("traces", {}, resolve_settings({}).export_timeout_s)
    exporter = exporter_factory(choice)()  # type: ignore[misc]
    assert type(exporter).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    assert choice.protocol == "http/protobuf"
    assert choice.timeout_s == 3.0


def test_otel_timeout_variable_wins_over_obsbox_default() -> None:
    """OTEL_EXPORTER_OTLP_TIMEOUT set by the user replaces obsbox's default (the exporter reads it)."""
    obsbox_timeout = resolve_settings({"OBSBOX_EXPORT_TIMEOUT": "1.5"}).export_timeout_s
    assert choose_exporter("traces", {}, obsbox_timeout).timeout_s == 1.5
    assert choose_exporter("traces", {"OTEL_EXPORTER_OTLP_TIMEOUT": "7"}, obsbox_timeout).timeout_s is None
    assert choose_exporter("logs", {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "7"}, obsbox_timeout).timeout_s is None
    assert choose_exporter("traces", {"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT": "7"}, obsbox_timeout).timeout_s == 1.5


def test_exporter_none_disables_a_signal() -> None:
    """OTEL_LOGS_EXPORTER=none gives no log exporter at all."""
    assert exporter_factory(choose_exporter("logs", {"OTEL_LOGS_EXPORTER": "none"}, 3.0)) is None
    assert exporter_factory(choose_exporter("traces", {"OTEL_LOGS_EXPORTER": "none"}, 3.0)) is not None


def test_grpc_without_the_extra_is_an_error_naming_the_fix() -> None:
    """OTEL_EXPORTER_OTLP_PROTOCOL=grpc without the [grpc] extra stops configure() with the pip command."""
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is not None:
        pytest.skip("the [grpc] extra is installed in this venv, so the gRPC exporter cannot be missing")
    os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
    with pytest.raises(SettingsError, match=r"OTEL_EXPORTER_OTLP_PROTOCOL='grpc'.*obsbox-instrumentation\[grpc\]"):
        obsbox.configure(service_name="svc")


@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_TRACES_EXPORTER", "otpl"), ("OTEL_LOGS_EXPORTER", "console,jaeger"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
)
def test_bad_otel_exporter_value_is_an_error_like_a_bad_obsbox_value(name: str, value: str) -> None:
    """A typo in an OTEL_* exporter variable stops configure() naming the variable, as a bad OBSBOX_* value does."""
    os.environ[name] = value
    with pytest.raises(SettingsError, match=rf"^{name}='{value}': expected one of "):
        obsbox.configure(service_name="svc")
    assert obsbox.runtime.get() is None
    os.environ.pop(name)
    os.environ["OBSBOX_TENANT_TOP_N"] = "lots"
    with pytest.raises(SettingsError, match=r"^OBSBOX_TENANT_TOP_N='lots': expected an integer"):
        obsbox.configure(service_name="svc")


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
