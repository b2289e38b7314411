"""Every component's default port, in one place.

The whole stack runs on one host unless an inventory spreads it out, so no two components may
share a port; and the same numbers are named again elsewhere: the collector's default Tempo and
Loki endpoints, Grafana's default datasources, the deploy's inventory defaults and the HA layout.
Each of those reads them from here (tests/unit/deploy/test_render_ports.py checks that they are
distinct).
"""

from __future__ import annotations

PROMETHEUS = 9090
ALERTMANAGER = 9093
ALERTMANAGER_CLUSTER = 9094
NODE_EXPORTER = 9100
VICTORIAMETRICS = 8428
LOKI_HTTP = 3100
# Loki's and Tempo's gRPC servers both default to 9095 upstream: apart here.
LOKI_GRPC = 9096
TEMPO_HTTP = 3200
TEMPO_GRPC = 9097
# Tempo's own OTLP receiver, off the collector's 4317 (the collector forwards traces to it).
TEMPO_OTLP_GRPC = 4417
OTELCOL_OTLP_GRPC = 4317
OTELCOL_OTLP_HTTP = 4318
OTELCOL_HEALTH = 13133
OTELCOL_TELEMETRY = 8888
OTELCOL_PROMETHEUS_EXPORTER = 8889
OTELCOL_PPROF = 1777
OTELCOL_ZPAGES = 55679
GRAFANA = 3000


def all_ports() -> dict[str, int]:
    """Name -> port of every default above."""
    return {name: value for name, value in globals().items() if name.isupper() and isinstance(value, int)}
