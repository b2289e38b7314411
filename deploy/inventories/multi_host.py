"""Three hosts with roles on an internal network (10.0.0.0/24).

    cd deploy   # so pyinfra finds group_data/ (pinned versions)
    ../.venv/bin/pyinfra inventories/multi_host.py deploy.py --ssh-user root

- metrics: Prometheus, Alertmanager
- logs-traces: Loki, Tempo, the OpenTelemetry Collector (the services' OTLP endpoint)
- grafana: Grafana
node_exporter runs everywhere. Every service listens on its host's internal address; the
<component>_url keys tell the other hosts where to find it.
"""

_METRICS, _LOGS_TRACES, _GRAFANA = "10.0.0.11", "10.0.0.12", "10.0.0.13"

_EVERYWHERE = {
    "prometheus_url": f"http://{_METRICS}:9090",
    "alertmanager_url": f"http://{_METRICS}:9093",
    "loki_url": f"http://{_LOGS_TRACES}:3100",
    "tempo_url": f"http://{_LOGS_TRACES}:3200",
    "grafana_url": f"http://{_GRAFANA}:3000",
    "prometheus_node_exporter_targets": [f"{ip}:9100" for ip in (_METRICS, _LOGS_TRACES, _GRAFANA)],
    "prometheus_otelcol_targets": [f"{_LOGS_TRACES}:8888"],
    "prometheus_service_targets": {"billing-api": ["10.0.1.21:9464", "10.0.1.22:9464"]},
    # Each unit accepts packets only from loopback and the internal network.
    "obsbox_ip_address_allow": ["127.0.0.0/8", "::1/128", "10.0.0.0/16"],
}
_NONE = {f"{c}_enabled": False for c in ("prometheus", "alertmanager", "loki", "tempo", "otelcol", "grafana")}


def _host(address: str, *enabled: str) -> tuple[str, dict]:
    data = {**_EVERYWHERE, **_NONE, "obsbox_bind_address": address}
    data.update({f"{component}_enabled": True for component in enabled})
    return address, data


metrics = [_host(_METRICS, "prometheus", "alertmanager")]
logs_traces = [_host(_LOGS_TRACES, "loki", "tempo", "otelcol")]
grafana = [_host(_GRAFANA, "grafana")]
