"""configure(): idempotency, environment precedence, the resource it applies, the pull endpoint."""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from typing import Any

import obsbox_instrumentation as obsbox
import pytest
from obsbox_instrumentation.logs import ObsboxJsonHandler


def test_configure_twice_returns_the_same_runtime(configure_obsbox: Any) -> None:
    """A second configure() changes nothing and adds no second log handler."""
    first = configure_obsbox()
    again = obsbox.configure(service_name="other")
    assert again is first.runtime
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, ObsboxJsonHandler)]
    assert len(handlers) == 1
    assert again.service_name == "unit-svc"


def test_disabled_by_environment() -> None:
    """OBSBOX_DISABLED=true makes configure() a no-op returning None."""
    os.environ["OBSBOX_DISABLED"] = "true"
    assert obsbox.configure() is None


def test_semconv_opt_in_is_set_before_instrumentation(configure_obsbox: Any) -> None:
    """configure() sets OTEL_SEMCONV_STABILITY_OPT_IN=http so nothing emits millisecond metrics."""
    configure_obsbox()
    assert os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] == "http"


def test_otel_sampler_variable_overrides_default(configure_obsbox: Any) -> None:
    """OTEL_TRACES_SAMPLER=always_off (user's) beats obsbox's ratio-1 default: no spans."""
    os.environ["OTEL_TRACES_SAMPLER"] = "always_off"
    configured = configure_obsbox()
    with configured.runtime.tracer.start_as_current_span("work"):
        pass
    assert configured.finished_spans() == []


def test_resource_on_spans_has_service_and_stable_instance(configure_obsbox: Any) -> None:
    """Exported spans carry service.name and the exported OBSBOX_SERVICE_INSTANCE_ID."""
    configured = configure_obsbox(service_version="2.0.0", environment="prod")
    with configured.runtime.tracer.start_as_current_span("work"):
        pass
    (span,) = configured.finished_spans()
    attrs = span.resource.attributes
    assert attrs["service.name"] == "unit-svc"
    assert attrs["service.version"] == "2.0.0"
    assert attrs["deployment.environment.name"] == "prod"
    assert attrs["service.instance.id"] == os.environ["OBSBOX_SERVICE_INSTANCE_ID"]


def test_prometheus_endpoint_serves_on_loopback(configure_obsbox: Any) -> None:
    """The pull endpoint binds 127.0.0.1 by default and serves the contract's metric names."""
    configured = configure_obsbox()
    configured.runtime.recorder.http_server("/x", "GET", 200, "", "__none__", 0.01)
    host, port = configured.runtime.prometheus_address
    assert host == "127.0.0.1"
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    assert 'http_server_request_duration_seconds_count{api_version="",' in body


def test_prometheus_can_be_disabled(configure_obsbox: Any) -> None:
    """OBSBOX_PROMETHEUS_ENABLED=false starts no endpoint."""
    os.environ["OBSBOX_PROMETHEUS_ENABLED"] = "false"
    assert configure_obsbox().runtime.prometheus_address is None


def test_shutdown_removes_the_directory_it_created(configure_obsbox: Any) -> None:
    """The multiprocess directory made by configure() is removed by the process that made it."""
    directory = configure_obsbox().runtime.multiproc_dir
    assert directory and os.path.isdir(directory)
    assert obsbox.shutdown(timeout=2.0) is True
    assert not os.path.exists(directory)


def test_metrics_endpoint_serves_only_metrics_with_process_metrics(configure_obsbox: Any) -> None:
    """/metrics carries process_* metrics; any other path on the port is a 404."""
    host, port = configure_obsbox().runtime.prometheus_address
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
        body = resp.read().decode()
    assert "\nprocess_resident_memory_bytes " in body
    for path in ("/", "/other"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5)
        assert err.value.code == 404


def test_metrics_port_is_never_shared(configure_obsbox: Any) -> None:
    """A second endpoint on a port one already holds fails to bind instead of splitting the scrapes."""
    from obsbox_instrumentation.promserver import MetricsServer

    host, port = configure_obsbox().runtime.prometheus_address
    with pytest.raises(OSError):
        MetricsServer(host, port, lambda accept: (b"", "text/plain"))
