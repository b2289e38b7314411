"""The HA layout as inventory data (pure): which host runs what, and how they find each other.

Six roles, each one host (docs/ha.md):

- ``prom-a``, ``prom-b``: a Prometheus replica each (same scrape config, external labels
  cluster and replica) and an Alertmanager peer each;
- ``store``: VictoriaMetrics (the long-term store both replicas remote-write to), the third
  Alertmanager peer, Loki, Tempo and Grafana (its metrics datasource reads VictoriaMetrics);
- ``gw-a``, ``gw-b``: gateway collectors (OTLP in; Tempo, Loki and a Prometheus exporter out);
- ``app-1`` (and any further service host): an agent collector forwarding to both gateways
  through the load-balancing exporter, spans routed by trace id.

``deploy/inventories/ha.py`` calls ``ha_inventory`` with example addresses; the tier-4 tests
call it with their hosts' addresses, so the layout tested is the layout shipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obsbox.render import ports
from obsbox.render.listen import host_port

REPLICAS = ("prom-a", "prom-b")
STORE = "store"
GATEWAYS = ("gw-a", "gw-b")
AGENT = "app-1"
ROLES = (*REPLICAS, STORE, *GATEWAYS, AGENT)
# Alertmanager peers: one on each replica host and one on the store, so losing any one host
# leaves two peers.
ALERTMANAGER_HOSTS = (*REPLICAS, STORE)
# Inventory groups (pyinfra group names) and the roles in each.
GROUPS = {
    "ha_replicas": REPLICAS,
    "ha_store": (STORE,),
    "ha_gateways": GATEWAYS,
    "ha_agents": (AGENT,),
}
CLUSTER_LABEL = "cluster"
REPLICA_LABEL = "replica"

_COMPONENTS = ("prometheus", "alertmanager", "victoriametrics", "loki", "tempo", "otelcol", "grafana")
_ENABLED = {
    "prom-a": ("prometheus", "alertmanager"),
    "prom-b": ("prometheus", "alertmanager"),
    STORE: ("victoriametrics", "alertmanager", "loki", "tempo", "grafana"),
    "gw-a": ("otelcol",),
    "gw-b": ("otelcol",),
}


def _url(address: str, port: int) -> str:
    return f"http://{host_port(address, port)}"


def ha_inventory(
    addresses: Mapping[str, str],
    common: Mapping[str, Any] | None = None,
    cluster: str = "obsbox",
    extra_agents: Mapping[str, str] | None = None,
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """{group: [(host name, data)]} for pyinfra; hosts are named by their address.

    addresses: role -> internal address for every role in ROLES. common: data every host gets
    (secrets, webhook URLs, obsbox_ip_address_allow, a mirror). extra_agents: more service
    hosts with an agent collector, name -> address.
    """
    missing = [role for role in ROLES if role not in addresses]
    if missing:
        raise ValueError(f"ha_inventory: no address for {', '.join(missing)} (roles: {', '.join(ROLES)})")
    agents = {AGENT: addresses[AGENT], **(extra_agents or {})}
    all_addresses = [addresses[r] for r in ROLES if r != AGENT] + list(agents.values())
    store = addresses[STORE]
    peers = [host_port(addresses[r], ports.ALERTMANAGER_CLUSTER) for r in ALERTMANAGER_HOSTS]
    everywhere: dict[str, Any] = {
        # Where each service runs, for the hosts that do not run it.
        "alertmanager_url": _url(store, ports.ALERTMANAGER),
        "victoriametrics_url": _url(store, ports.VICTORIAMETRICS),
        "loki_url": _url(store, ports.LOKI_HTTP),
        "tempo_url": _url(store, ports.TEMPO_HTTP),
        "grafana_url": _url(store, ports.GRAFANA),
        # Both replicas scrape exactly the same targets.
        "prometheus_prometheus_targets": [host_port(addresses[r], ports.PROMETHEUS) for r in REPLICAS],
        "prometheus_node_exporter_targets": [host_port(a, ports.NODE_EXPORTER) for a in all_addresses],
        # Every replica sends its alerts to every peer (and scrapes them).
        "prometheus_alertmanager_targets": [host_port(addresses[r], ports.ALERTMANAGER) for r in ALERTMANAGER_HOSTS],
        "prometheus_otelcol_targets": [host_port(addresses[r], ports.OTELCOL_TELEMETRY) for r in GATEWAYS]
        + [host_port(a, ports.OTELCOL_TELEMETRY) for a in agents.values()],
        "prometheus_otelcol_metrics_targets": [host_port(addresses[r], ports.OTELCOL_PROMETHEUS_EXPORTER) for r in GATEWAYS],
        "prometheus_remote_write_urls": [f"{_url(store, ports.VICTORIAMETRICS)}/api/v1/write"],
        "prometheus_replica_label": REPLICA_LABEL,
        "grafana_metrics_source": "victoriametrics",
        # Loki, Tempo and VictoriaMetrics have no login of their own: reachable from the
        # internal network only (obsbox_ip_address_allow).
        "obsbox_allow_unauthenticated": ["loki", "tempo", "victoriametrics"],
        **(common or {}),
    }

    def host(role: str, address: str) -> tuple[str, dict[str, Any]]:
        enabled = _ENABLED.get(role, ("otelcol",))
        data = {**everywhere, "obsbox_bind_address": address}
        data.update({f"{c}_enabled": c in enabled for c in _COMPONENTS})
        if "prometheus" in enabled:
            data["prometheus_url"] = _url(address, ports.PROMETHEUS)
            data["prometheus_external_labels"] = {
                CLUSTER_LABEL: cluster,
                REPLICA_LABEL: role.rsplit("-", 1)[1],
            }
        if "alertmanager" in enabled:
            data["alertmanager_url"] = _url(address, ports.ALERTMANAGER)
            data["alertmanager_cluster_peers"] = [p for p in peers if p != host_port(address, ports.ALERTMANAGER_CLUSTER)]
        if role not in _ENABLED:
            data["otelcol_role"] = "agent"
            data["otelcol_gateway_endpoints"] = [host_port(addresses[r], ports.OTELCOL_OTLP_GRPC) for r in GATEWAYS]
        return address, data

    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {
        name: [host(role, addresses[role]) for role in roles if role != AGENT]
        for name, roles in GROUPS.items()
    }
    groups["ha_agents"] = [host(name, address) for name, address in agents.items()]
    return groups
