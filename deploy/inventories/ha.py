"""The HA layout on six hosts of an internal network (10.0.0.0/24); see docs/ha.md.

    cd deploy   # so pyinfra finds group_data/ (pinned versions)
    OBSBOX_PROMETHEUS_PASSWORD=... OBSBOX_ALERTMANAGER_PASSWORD=... OBSBOX_NODE_EXPORTER_PASSWORD=... \\
    OBSBOX_OTLP_TOKEN=... ../.venv/bin/pyinfra inventories/ha.py deploy.py --ssh-user root

- prom-a, prom-b: a Prometheus replica each (external labels cluster=obsbox, replica=a|b), both
  alerting every Alertmanager peer and remote-writing to VictoriaMetrics; an Alertmanager peer each
- store: VictoriaMetrics (deduplicates the replicas), the third Alertmanager peer, Loki, Tempo,
  Grafana (metrics datasource: VictoriaMetrics)
- gw-a, gw-b: gateway collectors; app-1: a service host whose agent collector forwards to both
  gateways through the load-balancing exporter (spans routed by trace id)

Alertmanager peers gossip on <address>:9094 only; gossip has no authentication, so every unit
accepts packets only from loopback and the internal network (obsbox_ip_address_allow). A config
change restarts or reloads the replicas, peers and gateways one host at a time. Check what each
host gets without a host: `obsbox render --inventory inventories/ha.py --host 10.0.0.21 --out DIR`.
"""

import os

from obsbox.deploy.ha import ha_inventory

_ADDRESSES = {
    "prom-a": "10.0.0.21",
    "prom-b": "10.0.0.22",
    "store": "10.0.0.23",
    "gw-a": "10.0.0.24",
    "gw-b": "10.0.0.25",
    "app-1": "10.0.1.21",
}
_COMMON = {
    "obsbox_ip_address_allow": ["127.0.0.0/8", "::1/128", "10.0.0.0/16"],
    # Empty when unset: the deploy then refuses, naming the key.
    "prometheus_basic_auth_password": os.environ.get("OBSBOX_PROMETHEUS_PASSWORD", ""),
    "alertmanager_basic_auth_password": os.environ.get("OBSBOX_ALERTMANAGER_PASSWORD", ""),
    "node_exporter_basic_auth_password": os.environ.get("OBSBOX_NODE_EXPORTER_PASSWORD", ""),
    "otelcol_otlp_bearer_token": os.environ.get("OBSBOX_OTLP_TOKEN", ""),
    "prometheus_service_targets": {"billing-api": ["10.0.1.21:9464"]},
    "alertmanager_page_webhook_url": "https://alerts.example.com/obsbox/page",
    "alertmanager_ticket_webhook_url": "https://alerts.example.com/obsbox/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc-ping.example.com/obsbox-watchdog",
}
_GROUPS = ha_inventory(_ADDRESSES, _COMMON)

ha_replicas = _GROUPS["ha_replicas"]
ha_store = _GROUPS["ha_store"]
ha_gateways = _GROUPS["ha_gateways"]
ha_agents = _GROUPS["ha_agents"]
