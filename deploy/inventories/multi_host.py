"""Three hosts with roles on an internal network (10.0.0.0/24).

    cd deploy   # so pyinfra finds group_data/ (pinned versions)
    OBSBOX_PROMETHEUS_PASSWORD=... OBSBOX_ALERTMANAGER_PASSWORD=... OBSBOX_NODE_EXPORTER_PASSWORD=... \\
    OBSBOX_OTLP_TOKEN=... ../.venv/bin/pyinfra inventories/multi_host.py deploy.py --ssh-user root

- metrics: Prometheus, Alertmanager
- logs-traces: Loki, Tempo, the OpenTelemetry Collector (the services' OTLP endpoint)
- grafana: Grafana
node_exporter runs everywhere. Every service listens on its host's internal address; the
<component>_url keys tell the other hosts where to find it, and Prometheus scrapes each of them
there. Off loopback every listener needs authentication: basic auth for Prometheus,
Alertmanager and node_exporter, a bearer token for the collector's OTLP receivers (services send
``Authorization: Bearer <token>``), Grafana's own login. The secrets come from the environment of
the machine running pyinfra, never from this file. Loki and Tempo have no authentication of
their own: they are allowed open explicitly (obsbox_allow_unauthenticated), limited to the
internal network by obsbox_ip_address_allow. For TLS set <component>_tls_cert_file/_key_file
and https <component>_url values.
"""

import os

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
    # Empty when unset: the deploy then refuses, naming the key.
    "prometheus_basic_auth_password": os.environ.get("OBSBOX_PROMETHEUS_PASSWORD", ""),
    "alertmanager_basic_auth_password": os.environ.get("OBSBOX_ALERTMANAGER_PASSWORD", ""),
    "node_exporter_basic_auth_password": os.environ.get("OBSBOX_NODE_EXPORTER_PASSWORD", ""),
    "otelcol_otlp_bearer_token": os.environ.get("OBSBOX_OTLP_TOKEN", ""),
    "obsbox_allow_unauthenticated": ["loki", "tempo"],
    "alertmanager_page_webhook_url": "https://alerts.example.com/obsbox/page",
    "alertmanager_ticket_webhook_url": "https://alerts.example.com/obsbox/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc-ping.example.com/obsbox-watchdog",
}
_NONE = {f"{c}_enabled": False for c in ("prometheus", "alertmanager", "loki", "tempo", "otelcol", "grafana")}


def _host(address: str, *enabled: str) -> tuple[str, dict]:
    data = {**_EVERYWHERE, **_NONE, "obsbox_bind_address": address}
    data.update({f"{component}_enabled": True for component in enabled})
    return address, data


metrics = [_host(_METRICS, "prometheus", "alertmanager")]
logs_traces = [_host(_LOGS_TRACES, "loki", "tempo", "otelcol")]
grafana = [_host(_GRAFANA, "grafana")]
