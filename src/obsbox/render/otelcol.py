"""OpenTelemetry Collector (contrib) config: OTLP in; traces to Tempo, logs to Loki, metrics to Prometheus.

Metrics path: the collector's ``prometheus`` exporter, scraped by Prometheus with
``honor_labels: true`` (not remote write). Both paths apply the same OpenTelemetry-to-Prometheus
name translation the signal contract is written against (``http.server.request.duration`` in
seconds becomes ``http_server_request_duration_seconds_bucket``, counters get ``_total``,
``service.name`` becomes ``job`` and ``service.instance.id`` becomes ``instance``). The scrape
keeps those names and adds what remote write loses: an ``up`` series and scrape health for the
whole OTLP metrics path, staleness markers when a service goes away (``metric_expiration``), no
``--web.enable-remote-write-receiver`` on Prometheus, and exemplars over OpenMetrics.

An agent (role ``agent``, the HA layout's service hosts) exports nothing itself: it forwards
every signal to the gateway collectors through the ``load_balancing`` exporter, spans and logs
routed by trace id (every span of a trace reaches the same gateway), metrics by service (the
delta streams of one service are summed by one gateway). Gateways are standalone collectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsbox.render import ports
from obsbox.render._yaml import MANAGED_HEADER, dump_yaml
from obsbox.render.listen import LOOPBACK, LocalServer, host_port


@dataclass(frozen=True)
class OtelcolSettings(LocalServer):
    otlp_grpc_port: int = ports.OTELCOL_OTLP_GRPC
    otlp_http_port: int = ports.OTELCOL_OTLP_HTTP
    health_port: int = ports.OTELCOL_HEALTH
    # The collector's own metrics (otelcol_*), scraped by Prometheus as job "otelcol".
    telemetry_port: int = ports.OTELCOL_TELEMETRY
    # Service metrics that arrived over OTLP, scraped by Prometheus with honor_labels.
    prometheus_exporter_port: int = ports.OTELCOL_PROMETHEUS_EXPORTER
    tempo_otlp_endpoint: str = f"127.0.0.1:{ports.TEMPO_OTLP_GRPC}"
    loki_otlp_url: str = f"http://127.0.0.1:{ports.LOKI_HTTP}/otlp"
    # memory_limiter: limit and spike as percentages of memory_max_mib, the unit's MemoryMax.
    memory_limit_percentage: int = 80
    memory_spike_limit_percentage: int = 20
    memory_max_mib: int = 1024
    # Bearer token file for the OTLP receivers (bearertokenauth); empty: no authentication.
    bearer_token_file: str = ""
    # Persistent sending queues (file_storage): what waits for Tempo or Loki survives a restart.
    queue_dir: str = "/var/lib/otelcol/queue"
    batch_timeout: str = "5s"
    batch_size: int = 8192
    metric_expiration: str = "5m"
    # pprof and zpages stay off unless asked for, and then only on loopback.
    debug_endpoints: bool = False
    pprof_port: int = ports.OTELCOL_PPROF
    zpages_port: int = ports.OTELCOL_ZPAGES
    log_level: str = "info"
    # standalone (also a gateway) or agent: forward everything to gateway_endpoints (host:port).
    role: str = "standalone"
    gateway_endpoints: tuple[str, ...] = ()
    # The variable holding the gateways' bearer token in an agent's environment; empty: none sent.
    gateway_token_env: str = ""
    # How long an agent retries a batch a gateway refused or never answered before dropping it
    # (counted in otelcol_exporter_send_failed_*); the persistent queue keeps it meanwhile.
    gateway_retry_max_elapsed: str = "5m"

    def __post_init__(self) -> None:
        if self.role not in ("standalone", "agent"):
            raise ValueError(f"collector role {self.role!r} is not standalone or agent")
        if self.role == "agent" and not self.gateway_endpoints:
            raise ValueError("a collector agent needs at least one gateway endpoint")
        if not 0 < self.memory_spike_limit_percentage < self.memory_limit_percentage <= 100:
            raise ValueError(
                "memory_limiter needs 0 < spike_limit_percentage < limit_percentage <= 100, got "
                f"{self.memory_spike_limit_percentage} and {self.memory_limit_percentage}"
            )
        ports = [
            self.otlp_grpc_port,
            self.otlp_http_port,
            self.health_port,
            self.telemetry_port,
            self.prometheus_exporter_port,
        ]
        if len(set(ports)) != len(ports):
            raise ValueError(f"collector ports collide: {ports}")
        if self.log_level not in ("debug", "info", "warn", "error"):
            raise ValueError(f"collector log_level {self.log_level!r} is not debug/info/warn/error")


def memory_limits_mib(settings: OtelcolSettings) -> tuple[int, int]:
    """(limit_mib, spike_limit_mib) of the memory_limiter, below the unit's MemoryMax."""
    limit = settings.memory_max_mib * settings.memory_limit_percentage // 100
    spike = settings.memory_max_mib * settings.memory_spike_limit_percentage // 100
    return limit, spike


# Components this renderer uses; obsbox's collector distribution builds exactly these.
COMPONENTS = {
    "receivers": ("otlp",),
    "processors": ("batch", "memory_limiter", "deltatocumulative"),
    "exporters": ("otlp", "otlphttp", "prometheus", "load_balancing"),
    "extensions": ("zpages", "health_check", "pprof", "file_storage", "bearertokenauth"),
}


def _load_balancing(s: OtelcolSettings, routing_key: str, queue: dict[str, Any]) -> dict[str, Any]:
    otlp: dict[str, Any] = {"tls": {"insecure": True}, "timeout": "10s"}
    if s.gateway_token_env:
        # Plain headers, not bearertokenauth: that client refuses connections without TLS.
        otlp["headers"] = {"Authorization": f"Bearer ${{env:{s.gateway_token_env}}}"}
    return {
        "routing_key": routing_key,
        "resolver": {"static": {"hostnames": list(s.gateway_endpoints)}},
        "protocol": {"otlp": otlp},
        # What a dead gateway was due stays queued on disk and is retried, up to the limit.
        "sending_queue": queue,
        "retry_on_failure": {"enabled": True, "max_elapsed_time": s.gateway_retry_max_elapsed},
    }


def render_otelcol_config(settings: OtelcolSettings) -> str:
    """Render the collector's config.yaml."""
    s = settings
    extensions: dict[str, Any] = {
        "health_check": {"endpoint": s.endpoint(s.health_port)},
        "file_storage": {"directory": s.queue_dir, "create_directory": True},
    }
    receiver_auth: dict[str, Any] = {}
    if s.bearer_token_file:
        extensions["bearertokenauth"] = {"filename": s.bearer_token_file}
        receiver_auth = {"auth": {"authenticator": "bearertokenauth"}}
    limit_mib, spike_mib = memory_limits_mib(s)
    queue = {"enabled": True, "storage": "file_storage"}
    if s.debug_endpoints:
        extensions["pprof"] = {"endpoint": host_port(LOOPBACK, s.pprof_port)}
        extensions["zpages"] = {"endpoint": host_port(LOOPBACK, s.zpages_port)}
    pipeline_processors = ["memory_limiter", "batch"]
    config: dict[str, Any] = {
        "extensions": extensions,
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": s.endpoint(s.otlp_grpc_port), **receiver_auth},
                    "http": {"endpoint": s.endpoint(s.otlp_http_port), **receiver_auth},
                }
            }
        },
        "processors": {
            # First in every pipeline: refuses data before the process runs out of memory.
            "memory_limiter": {
                # Absolute limits derived from the unit's MemoryMax, so the limiter refuses data
                # before systemd's OOM kill would.
                "check_interval": "1s",
                "limit_mib": limit_mib,
                "spike_limit_mib": spike_mib,
            },
            "batch": {"timeout": s.batch_timeout, "send_batch_size": s.batch_size},
            # Services push delta temporality (pre-fork workers share one service.instance.id, so
            # cumulative series would overwrite each other). The prometheus exporter adds a delta
            # only when it starts exactly where the previous point ended, which an idle export
            # interval or a second worker breaks; this processor sums every delta of a stream.
            "deltatocumulative": {},
        },
        "exporters": {
            "otlp/tempo": {"endpoint": s.tempo_otlp_endpoint, "tls": {"insecure": True}, "sending_queue": queue},
            # Loki 3 ingests OTLP natively; tenant.id stays a log attribute, which Loki keeps as
            # structured metadata (see the Loki renderer), never as a stream label.
            "otlphttp/loki": {"endpoint": s.loki_otlp_url, "sending_queue": queue},
            "prometheus": {
                "endpoint": s.endpoint(s.prometheus_exporter_port),
                # Exemplars (trace ids on histogram buckets) are only exposed in OpenMetrics.
                "enable_open_metrics": True,
                "metric_expiration": s.metric_expiration,
                # Resource attributes stay in target_info; copying them onto every series would
                # multiply cardinality.
                "resource_to_telemetry_conversion": {"enabled": False},
            },
        },
        "service": {
            "extensions": list(extensions),
            "telemetry": {
                "logs": {"level": s.log_level},
                "metrics": {
                    "level": "detailed",
                    "readers": [
                        {
                            "pull": {
                                "exporter": {
                                    "prometheus": {"host": s.listen_address, "port": s.telemetry_port}
                                }
                            }
                        }
                    ],
                },
            },
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": pipeline_processors,
                    "exporters": ["otlp/tempo"],
                },
                "metrics": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "deltatocumulative", "batch"],
                    "exporters": ["prometheus"],
                },
                "logs": {
                    "receivers": ["otlp"],
                    "processors": pipeline_processors,
                    "exporters": ["otlphttp/loki"],
                },
            },
        },
    }
    if s.role == "agent":
        _as_agent(config, s, queue)
    return dump_yaml(config, MANAGED_HEADER)


def _as_agent(config: dict[str, Any], s: OtelcolSettings, queue: dict[str, Any]) -> None:
    """Replace the exporters by the load-balancing exporter towards the gateways."""
    config["exporters"] = {
        "load_balancing": _load_balancing(s, "traceID", queue),
        "load_balancing/metrics": _load_balancing(s, "service", queue),
    }
    # Summing deltas is the gateway's job: one service's streams all reach the same gateway.
    del config["processors"]["deltatocumulative"]
    pipelines = config["service"]["pipelines"]
    pipelines["traces"]["exporters"] = ["load_balancing"]
    pipelines["logs"]["exporters"] = ["load_balancing"]
    pipelines["metrics"]["processors"] = ["memory_limiter", "batch"]
    pipelines["metrics"]["exporters"] = ["load_balancing/metrics"]
