"""The HA inventory and its settings: renders parsed back, bad values refused by key (pure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsbox.deploy.ha import ROLES, ha_inventory
from obsbox.deploy.plan import plan_for
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import InventoryDataError, StackSettings, settings_from_host_data

PROM_A, PROM_B, STORE, GW_A, GW_B, APP = (
    "10.0.0.21",
    "10.0.0.22",
    "10.0.0.23",
    "10.0.0.24",
    "10.0.0.25",
    "10.0.1.21",
)


@pytest.fixture
def ha(inventory_hosts: Callable[[str], dict[str, dict]]) -> dict[str, StackSettings]:
    """Settings of every host of deploy/inventories/ha.py, by address."""
    return {address: settings_from_host_data(data) for address, data in inventory_hosts("ha.py").items()}


def _file(settings: StackSettings, path: str) -> Any:
    return yaml.safe_load(render_host_files(settings)[path])


def _exec_start(settings: StackSettings, component: str) -> tuple[str, ...]:
    return plan_for(settings, component).unit.exec_start


def test_ha_inventory_has_every_role_on_its_own_host(ha: dict[str, StackSettings]) -> None:
    """Six hosts: two Prometheus, three Alertmanager peers, one store, two gateways, one agent."""
    enabled = {
        a: {
            c for c in ("prometheus", "alertmanager", "victoriametrics", "otelcol", "grafana") if s.enabled(c)
        }
        for a, s in ha.items()
    }
    assert enabled == {
        PROM_A: {"prometheus", "alertmanager"},
        PROM_B: {"prometheus", "alertmanager"},
        STORE: {"victoriametrics", "alertmanager", "grafana"},
        GW_A: {"otelcol"},
        GW_B: {"otelcol"},
        APP: {"otelcol"},
    }


def test_ha_replicas_share_scrape_config_and_differ_by_replica_label(ha: dict[str, StackSettings]) -> None:
    """Both prometheus.yml files are equal except for external_labels.replica (a, b)."""
    a = _file(ha[PROM_A], "/etc/prometheus/prometheus.yml")
    b = _file(ha[PROM_B], "/etc/prometheus/prometheus.yml")
    assert a["global"].pop("external_labels") == {"cluster": "obsbox", "replica": "a"}
    assert b["global"].pop("external_labels") == {"cluster": "obsbox", "replica": "b"}
    assert a == b
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in a["scrape_configs"]}
    assert jobs["prometheus"] == [f"{PROM_A}:9090", f"{PROM_B}:9090"]
    assert jobs["victoriametrics"] == [f"{STORE}:8428"]
    assert jobs["otelcol-otlp-metrics"] == [f"{GW_A}:8889", f"{GW_B}:8889"]


def test_ha_replicas_alert_every_peer_without_the_replica_label(ha: dict[str, StackSettings]) -> None:
    """Alerts go to all three peers with the replica label dropped, so both replicas send the same alert."""
    alerting = _file(ha[PROM_A], "/etc/prometheus/prometheus.yml")["alerting"]
    assert alerting["alertmanagers"][0]["static_configs"][0]["targets"] == [
        f"{PROM_A}:9093",
        f"{PROM_B}:9093",
        f"{STORE}:9093",
    ]
    assert alerting["alert_relabel_configs"] == [{"regex": "replica", "action": "labeldrop"}]


def test_ha_replicas_remote_write_to_the_store_without_the_replica_label(
    ha: dict[str, StackSettings],
) -> None:
    """Remote write goes to VictoriaMetrics' write endpoint and drops the replica label."""
    (target,) = _file(ha[PROM_B], "/etc/prometheus/prometheus.yml")["remote_write"]
    assert target == {
        "url": f"http://{STORE}:8428/api/v1/write",
        "write_relabel_configs": [{"regex": "replica", "action": "labeldrop"}],
    }


def test_ha_store_deduplicates_at_the_scrape_interval(ha: dict[str, StackSettings]) -> None:
    """VictoriaMetrics listens on the store's address and keeps one sample per 15 s scrape interval."""
    argv = _exec_start(ha[STORE], "victoriametrics")
    assert argv[0].endswith("/victoria-metrics-prod")
    assert f"-httpListenAddr={STORE}:8428" in argv
    assert "-dedup.minScrapeInterval=15s" in argv


def test_ha_alertmanager_gossips_on_its_own_address_with_every_other_peer(
    ha: dict[str, StackSettings],
) -> None:
    """Each peer listens for gossip on its internal address only and names the two others."""
    for address in (PROM_A, PROM_B, STORE):
        argv = _exec_start(ha[address], "alertmanager")
        assert f"--cluster.listen-address={address}:9094" in argv
        peers = sorted(a.split("=", 1)[1] for a in argv if a.startswith("--cluster.peer="))
        assert peers == sorted(f"{p}:9094" for p in (PROM_A, PROM_B, STORE) if p != address)


def test_single_alertmanager_keeps_gossip_off(make_settings: Callable[..., StackSettings]) -> None:
    """Without peers the gossip port stays closed, as before."""
    argv = _exec_start(make_settings(), "alertmanager")
    assert "--cluster.listen-address=" in argv
    assert not any(a.startswith("--cluster.peer") for a in argv)


def test_ha_grafana_reads_metrics_from_the_store(ha: dict[str, StackSettings]) -> None:
    """Grafana's Prometheus datasource points at VictoriaMetrics, with no Prometheus password."""
    sources = _file(ha[STORE], "/etc/grafana/provisioning/datasources/obsbox.yaml")["datasources"]
    (metrics,) = [s for s in sources if s["uid"] == "prometheus"]
    assert metrics["url"] == f"http://{STORE}:8428"
    assert "basicAuth" not in metrics


def test_ha_agent_load_balances_to_both_gateways_by_trace_id(ha: dict[str, StackSettings]) -> None:
    """The agent exports only through load_balancing: traces and logs by trace id, metrics by service."""
    config = _file(ha[APP], "/etc/otelcol/config.yaml")
    assert set(config["exporters"]) == {"load_balancing", "load_balancing/metrics"}
    traces = config["exporters"]["load_balancing"]
    assert traces["routing_key"] == "traceID"
    assert traces["resolver"]["static"]["hostnames"] == [f"{GW_A}:4317", f"{GW_B}:4317"]
    assert traces["protocol"]["otlp"]["headers"] == {"Authorization": "Bearer ${env:OBSBOX_OTLP_TOKEN}"}
    assert config["exporters"]["load_balancing/metrics"]["routing_key"] == "service"
    pipelines = config["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["load_balancing"] == pipelines["logs"]["exporters"]
    assert pipelines["metrics"]["exporters"] == ["load_balancing/metrics"]


def test_ha_agent_token_reaches_it_from_a_root_only_environment_file(ha: dict[str, StackSettings]) -> None:
    """The gateway token is in a 0600 root file read by systemd, never in config.yaml."""
    plan = plan_for(ha[APP], "otelcol")
    files = {f.path: f for g in plan.groups for f in g.files}
    env = files["/etc/otelcol/secrets/gateway.env"]
    assert (env.user, env.group, env.mode) == ("root", "root", "0600")
    assert env.content.startswith("OBSBOX_OTLP_TOKEN='")
    token = env.content.split("'")[1]
    assert token not in files["/etc/otelcol/config.yaml"].content
    assert plan.unit.environment_files == ("/etc/otelcol/secrets/gateway.env",)


def test_ha_gateways_export_to_the_store_backends(ha: dict[str, StackSettings]) -> None:
    """A gateway is a standalone collector on its own address exporting to the store's Tempo and Loki."""
    config = _file(ha[GW_A], "/etc/otelcol/config.yaml")
    assert config["exporters"]["otlp/tempo"]["endpoint"] == f"{STORE}:4417"
    assert config["exporters"]["otlphttp/loki"]["endpoint"] == f"http://{STORE}:3100/otlp"
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == f"{GW_A}:4317"


def test_ha_inventory_names_missing_roles() -> None:
    """ha_inventory refuses an address table without every role, naming the missing ones."""
    with pytest.raises(ValueError, match="no address for gw-b"):
        ha_inventory({r: f"10.0.0.{i}" for i, r in enumerate(ROLES) if r != "gw-b"})


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"alertmanager_cluster_peers": "10.0.0.22:9094"}, "alertmanager_cluster_peers"),
        ({"alertmanager_cluster_peers": ["10.0.0.22"]}, "alertmanager_cluster_peers"),
        ({"alertmanager_cluster_port": 70000}, "alertmanager_cluster_port"),
        ({"alertmanager_cluster_peers": ["127.0.0.1:9094"]}, "alertmanager_cluster_peers"),
        (
            {"alertmanager_cluster_port": 9093, "alertmanager_cluster_peers": ["127.0.0.2:9094"]},
            "alertmanager_cluster_port",
        ),
        (
            {"alertmanager_listen_address": "0.0.0.0", "alertmanager_cluster_peers": ["10.0.0.22:9094"]},
            "alertmanager_listen_address",
        ),
        ({"prometheus_remote_write_urls": ["victoria:8428"]}, "prometheus_remote_write_urls"),
        ({"prometheus_remote_write_urls": "http://v:8428/api/v1/write"}, "prometheus_remote_write_urls"),
        ({"prometheus_replica_label": "replica"}, "prometheus_replica_label"),
        (
            {"prometheus_replica_label": "bad-label", "prometheus_external_labels": {"bad-label": "a"}},
            "prometheus_replica_label",
        ),
        ({"victoriametrics_retention_period": "1 year"}, "victoriametrics_retention_period"),
        ({"victoriametrics_dedup_min_scrape_interval": "15"}, "victoriametrics_dedup_min_scrape_interval"),
        ({"victoriametrics_port": "8428"}, "victoriametrics_port"),
        ({"otelcol_role": "gateway"}, "otelcol_role"),
        ({"otelcol_role": "agent"}, "otelcol_gateway_endpoints"),
        ({"otelcol_gateway_endpoints": ["10.0.0.24:4317"]}, "otelcol_gateway_endpoints"),
        ({"otelcol_role": "agent", "otelcol_gateway_endpoints": ["gw-a"]}, "otelcol_gateway_endpoints"),
        ({"grafana_metrics_source": "thanos"}, "grafana_metrics_source"),
        ({"grafana_metrics_source": "victoriametrics"}, "victoriametrics_url"),
        ({"prometheus_prometheus_targets": ["10.0.0.21"]}, "prometheus_prometheus_targets"),
        ({"prometheus_otelcol_metrics_targets": "10.0.0.24:8889"}, "prometheus_otelcol_metrics_targets"),
        ({"victoriametrics_retention": "1y"}, "victoriametrics_retention"),
    ],
)
def test_ha_bad_values_are_refused_naming_the_key(
    make_settings: Callable[..., StackSettings], data: dict, key: str
) -> None:
    """Each bad HA setting is an InventoryDataError whose message starts with the key."""
    with pytest.raises(InventoryDataError) as raised:
        make_settings(**data)
    assert str(raised.value).startswith(f"{key}:"), str(raised.value)


def test_ha_gossip_off_loopback_needs_an_ip_filter(make_settings: Callable[..., StackSettings]) -> None:
    """Unauthenticated gossip on an internal address is refused while the units accept any source."""
    auth = {
        "prometheus_basic_auth_password": "p" * 12,
        "alertmanager_basic_auth_password": "a" * 12,
        "node_exporter_basic_auth_password": "n" * 12,
        "otelcol_otlp_bearer_token": "t" * 20,
        "obsbox_allow_unauthenticated": ["loki", "tempo"],
    }
    data = {"obsbox_bind_address": "10.0.0.21", "alertmanager_cluster_peers": ["10.0.0.22:9094"], **auth}
    with pytest.raises(InventoryDataError, match=r"^obsbox_ip_address_allow: .*gossip"):
        make_settings(**data)
    settings = make_settings(**data, obsbox_ip_address_allow=["10.0.0.0/16"])
    assert settings.alertmanager_cluster.peers == ("10.0.0.22:9094",)


def test_victoriametrics_off_loopback_needs_explicit_allowance(
    make_settings: Callable[..., StackSettings],
) -> None:
    """VictoriaMetrics has no login of its own: off loopback it must be allowed by name."""
    auth = {
        "prometheus_basic_auth_password": "p" * 12,
        "alertmanager_basic_auth_password": "a" * 12,
        "node_exporter_basic_auth_password": "n" * 12,
        "otelcol_otlp_bearer_token": "t" * 20,
    }
    data = {"obsbox_bind_address": "10.0.0.23", "victoriametrics_enabled": True, **auth}
    with pytest.raises(InventoryDataError, match="victoriametrics"):
        make_settings(**data, obsbox_allow_unauthenticated=["loki", "tempo"])
    make_settings(**data, obsbox_allow_unauthenticated=["loki", "tempo", "victoriametrics"])


@pytest.mark.parametrize("host", [PROM_A, PROM_B, STORE, GW_A, GW_B, APP])
def test_ha_inventory_renders_every_host_offline(host: str, tmp_path: Path) -> None:
    """`obsbox render --inventory deploy/inventories/ha.py --host H` writes the host's files without pyinfra."""
    from tests.unit.deploy.test_deploy_render_offline import REPO, _render

    out = tmp_path / "out"
    loaded = _render(
        "--inventory", str(REPO / "deploy/inventories/ha.py"), "--host", host, "--out", str(out), "--no-check"
    )
    assert loaded == []
    units = {p.name for p in (out / "etc/systemd/system").iterdir()}
    expected = {
        PROM_A: {"prometheus.service", "alertmanager.service"},
        PROM_B: {"prometheus.service", "alertmanager.service"},
        STORE: {
            "victoriametrics.service",
            "alertmanager.service",
            "grafana.service",
            "loki.service",
            "tempo.service",
        },
    }.get(host, {"otelcol.service"})
    assert units == expected | {"node_exporter.service"}
