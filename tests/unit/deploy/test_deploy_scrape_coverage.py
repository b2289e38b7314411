"""Issue 8 item 10: in every shipped inventory, every enabled component is scraped where it runs (pure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import COMPONENTS, settings_from_host_data

REPO_ROOT = Path(__file__).resolve().parents[3]
INVENTORIES = sorted(p.name for p in (REPO_ROOT / "deploy" / "inventories").glob("*.py"))
JOB = {
    "node_exporter": "node",
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
    "victoriametrics": "victoriametrics",
    "loki": "loki",
    "tempo": "tempo",
    "otelcol": "otelcol",
    "grafana": "grafana",
}


def _scrape_jobs(data: dict) -> dict[str, set[str]]:
    settings = settings_from_host_data(data)
    plan = plan_for(settings, "prometheus")
    (config,) = [f.content for g in plan.groups for f in g.files if f.path.endswith("prometheus.yml")]
    jobs = yaml.safe_load(config)["scrape_configs"]
    return {j["job_name"]: {t for sc in j["static_configs"] for t in sc["targets"]} for j in jobs}


def test_deploy_inventories_are_all_covered() -> None:
    """The shipped inventories are the three docs/deploy.md and docs/ha.md describe (a new one is picked up here)."""
    assert INVENTORIES == ["all_in_one.py", "ha.py", "multi_host.py"]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_deploy_inventory_scrapes_every_enabled_component(
    inventory: str, inventory_hosts: Callable[[str], dict[str, dict]]
) -> None:
    """Each enabled component on each host is a target of its job on every Prometheus of the inventory."""
    hosts = inventory_hosts(inventory)
    prometheus_hosts = [a for a, d in hosts.items() if settings_from_host_data(d).enabled("prometheus")]
    assert prometheus_hosts, f"{inventory} runs no Prometheus"
    for prometheus_host in prometheus_hosts:
        jobs = _scrape_jobs(hosts[prometheus_host])
        for address, data in hosts.items():
            settings = settings_from_host_data(data)
            for component in COMPONENTS:
                if not settings.enabled(component):
                    continue
                listen = settings.install[component].listen_address
                port = (
                    settings.otelcol.telemetry_port
                    if component == "otelcol"
                    else urlsplit(f"http://{listen}:{settings.ports[component]}").port
                )
                expected = f"{listen}:{port}"
                assert expected in jobs.get(JOB[component], set()), (
                    f"{inventory}: {component} on {address} ({expected}) is not scraped by Prometheus on "
                    f"{prometheus_host}; job {JOB[component]!r} has {sorted(jobs.get(JOB[component], ()))}"
                )
