"""The collector's config rendering, parsed back (pure)."""

from __future__ import annotations

import pytest
import yaml

from obsbox.render.otelcol import OtelcolSettings, render_otelcol_config


def _config(**kwargs: object) -> dict:
    return yaml.safe_load(render_otelcol_config(OtelcolSettings(**kwargs)))  # type: ignore[arg-type]


def test_render_otelcol_receives_otlp_grpc_and_http_on_listen_address() -> None:
    """OTLP gRPC and HTTP listen on the configured address and ports."""
    protocols = _config(listen_address="10.0.0.12")["receivers"]["otlp"]["protocols"]
    assert protocols == {"grpc": {"endpoint": "10.0.0.12:4317"}, "http": {"endpoint": "10.0.0.12:4318"}}


def test_render_otelcol_routes_each_signal_to_its_backend() -> None:
    """Traces go to Tempo, metrics to the Prometheus exporter, logs to Loki's OTLP endpoint."""
    config = _config(tempo_otlp_endpoint="10.0.0.12:4417", loki_otlp_url="http://10.0.0.12:3100/otlp")
    pipelines = config["service"]["pipelines"]
    assert {name: p["exporters"] for name, p in pipelines.items()} == {
        "traces": ["otlp/tempo"],
        "metrics": ["prometheus"],
        "logs": ["otlphttp/loki"],
    }
    assert config["exporters"]["otlp/tempo"]["endpoint"] == "10.0.0.12:4417"
    assert config["exporters"]["otlphttp/loki"]["endpoint"] == "http://10.0.0.12:3100/otlp"


def test_render_otelcol_memory_limiter_runs_first() -> None:
    """Every pipeline starts with memory_limiter and ends batching; metrics sum their deltas in between."""
    pipelines = _config()["service"]["pipelines"]
    for name, pipeline in pipelines.items():
        expected = ["memory_limiter", "deltatocumulative", "batch"] if name == "metrics" else ["memory_limiter", "batch"]
        assert pipeline["processors"] == expected, name


def test_render_otelcol_prometheus_exporter_exposes_exemplars() -> None:
    """The metrics exporter speaks OpenMetrics (exemplars) and keeps resource attributes off series."""
    exporter = _config()["exporters"]["prometheus"]
    assert exporter["enable_open_metrics"] is True
    assert exporter["resource_to_telemetry_conversion"] == {"enabled": False}


def test_render_otelcol_own_telemetry_on_its_port() -> None:
    """The collector's own metrics are served for Prometheus on the telemetry port."""
    readers = _config(telemetry_port=9888)["service"]["telemetry"]["metrics"]["readers"]
    assert readers[0]["pull"]["exporter"]["prometheus"] == {"host": "127.0.0.1", "port": 9888}


def test_render_otelcol_debug_endpoints_off_by_default() -> None:
    """pprof and zpages are absent unless asked for."""
    assert not {"pprof", "zpages"} & set(_config()["extensions"])


def test_render_otelcol_debug_endpoints_only_on_loopback() -> None:
    """When turned on, pprof and zpages bind loopback even if the collector listens elsewhere."""
    config = _config(listen_address="10.0.0.12", debug_endpoints=True)
    assert config["extensions"]["pprof"]["endpoint"].startswith("127.0.0.1:")
    assert config["extensions"]["zpages"]["endpoint"].startswith("127.0.0.1:")
    assert config["service"]["extensions"] == ["health_check", "file_storage", "pprof", "zpages"]


def test_render_otelcol_refuses_colliding_ports() -> None:
    """Two listeners on one port are refused."""
    with pytest.raises(ValueError, match="ports collide"):
        OtelcolSettings(otlp_grpc_port=8888)
