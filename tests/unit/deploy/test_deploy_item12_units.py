"""Issue 8 item 12: external URLs from the inventory, the collector's memory and queue, Grafana's
service map (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import StackSettings, settings_from_host_data
from obsbox.render.grafana import DatasourcesSettings, render_grafana_datasources
from obsbox.render.otelcol import COMPONENTS as OTELCOL_COMPONENTS
from obsbox.render.systemd import render_unit

ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}
# obsbox's collector distribution (distributions/otelcol-obsbox), component type names.
DISTRIBUTION = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter", "deltatocumulative"},
    "exporters": {"otlp", "otlphttp", "prometheus", "load_balancing"},
    "extensions": {"zpages", "health_check", "pprof", "file_storage", "bearertokenauth"},
}


def _otelcol(settings: StackSettings) -> tuple[dict, str]:
    plan = plan_for(settings, "otelcol")
    (text,) = [f.content for g in plan.groups for f in g.files if f.path == "/etc/otelcol/config.yaml"]
    return yaml.safe_load(text), render_unit(plan.unit)


def _flag(settings: StackSettings, component: str, name: str) -> str:
    (value,) = [a.split("=", 1)[1] for a in plan_for(settings, component).unit.exec_start if a.startswith(f"{name}=")]
    return value


def test_deploy_external_url_from_inventory_key(make_settings: Callable[..., StackSettings]) -> None:
    """prometheus_/alertmanager_external_url become --web.external-url."""
    settings = make_settings(
        prometheus_external_url="https://metrics.acme.example/", alertmanager_external_url="https://alerts.acme.example"
    )
    assert _flag(settings, "prometheus", "--web.external-url") == "https://metrics.acme.example/"
    assert _flag(settings, "alertmanager", "--web.external-url") == "https://alerts.acme.example/"


def test_deploy_external_url_default_is_inventory_host_not_loopback() -> None:
    """On a loopback bind the default external URL names the inventory's host, so alert links open elsewhere."""
    settings = settings_from_host_data(ROUTED, host_name="obsbox.internal.example")
    assert _flag(settings, "prometheus", "--web.external-url") == "http://obsbox.internal.example:9090/"
    assert _flag(settings, "alertmanager", "--web.external-url") == "http://obsbox.internal.example:9093/"
    # Readiness still goes to where the service listens.
    assert plan_for(settings, "prometheus").ready_url == "http://127.0.0.1:9090/-/ready"


def test_deploy_collector_memory_limiter_below_unit_memory_max(make_settings: Callable[..., StackSettings]) -> None:
    """MemoryMax in the unit and the memory_limiter's limits come from one key; the limiter acts first."""
    for max_mib in (1024, 3000):
        config, unit = _otelcol(make_settings(otelcol_memory_max_mib=max_mib))
        match = re.search(r"^MemoryMax=(\d+)M$", unit, re.MULTILINE)
        assert match is not None and int(match.group(1)) == max_mib
        limiter = config["processors"]["memory_limiter"]
        assert 0 < limiter["spike_limit_mib"] < limiter["limit_mib"] < max_mib
        assert limiter["limit_mib"] == max_mib * 80 // 100
        assert "limit_percentage" not in limiter


def test_deploy_collector_sending_queues_persist_in_data_dir(make_settings: Callable[..., StackSettings]) -> None:
    """Both backend exporters queue on file_storage in a directory the unit may write and the plan creates."""
    settings = make_settings()
    config, unit = _otelcol(settings)
    storage = config["extensions"]["file_storage"]
    assert "file_storage" in config["service"]["extensions"]
    for exporter in ("otlp/tempo", "otlphttp/loki"):
        assert config["exporters"][exporter]["sending_queue"] == {"enabled": True, "storage": "file_storage"}
    assert storage["directory"].startswith("/var/lib/otelcol/")
    assert "ReadWritePaths=/var/lib/otelcol\n" in unit
    assert storage["directory"] in plan_for(settings, "otelcol").extra_dirs


@pytest.mark.parametrize(
    "role", [{}, {"otelcol_role": "agent", "otelcol_gateway_endpoints": ["10.0.0.24:4317"]}], ids=["standalone", "agent"]
)
def test_deploy_collector_uses_only_obsbox_distribution_components(
    make_settings: Callable[..., StackSettings], role: dict
) -> None:
    """Every component in the rendered config (gateway or agent), debug endpoints and auth included, is in obsbox's distribution."""
    config, _unit = _otelcol(make_settings(otelcol_debug_endpoints=True, otelcol_otlp_bearer_token="t" * 20, **role))
    for kind, allowed in DISTRIBUTION.items():
        used = {name.split("/")[0] for name in config[kind]}
        assert used <= allowed, (kind, used - allowed)
        assert set(OTELCOL_COMPONENTS[kind]) <= allowed


def test_deploy_grafana_has_no_service_map_without_metrics_generator() -> None:
    """The Tempo datasource has no serviceMap: nothing produces Tempo's service-graph metrics."""
    sources = yaml.safe_load(render_grafana_datasources(DatasourcesSettings()))["datasources"]
    (tempo,) = [s for s in sources if s["uid"] == "tempo"]
    assert "serviceMap" not in tempo["jsonData"]
