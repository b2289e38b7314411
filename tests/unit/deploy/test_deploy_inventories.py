"""The example inventories and group data: valid settings for every host (pure)."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path

from obsbox.deploy.settings import ALL_DEFAULTS, COMPONENTS, settings_from_host_data


def test_deploy_inventory_all_in_one_enables_everything(inventory_hosts: Callable[[str], dict[str, dict]]) -> None:
    """The all-in-one host has valid data with every component enabled on loopback."""
    (data,) = inventory_hosts("all_in_one.py").values()
    settings = settings_from_host_data(data)
    assert all(settings.enabled(c) == (c != "victoriametrics") for c in COMPONENTS)
    assert settings.bind_address == "127.0.0.1"


def test_deploy_inventory_multi_host_roles_split_the_stack(inventory_hosts: Callable[[str], dict[str, dict]]) -> None:
    """Each multi-host host has valid data and the roles split the components between them."""
    enabled = {
        address: sorted(c for c in COMPONENTS if settings_from_host_data(data).enabled(c))
        for address, data in inventory_hosts("multi_host.py").items()
    }
    assert sorted(enabled.values()) == [
        ["alertmanager", "node_exporter", "prometheus"],
        ["grafana", "node_exporter"],
        ["loki", "node_exporter", "otelcol", "tempo"],
    ]


def test_deploy_inventory_multi_host_collector_exports_to_backends_host(inventory_hosts: Callable[[str], dict[str, dict]]) -> None:
    """On the Grafana host, datasources point at the metrics and logs hosts, not at loopback."""
    hosts = inventory_hosts("multi_host.py")
    settings = settings_from_host_data(hosts["10.0.0.13"])
    assert settings.url("prometheus") == "http://10.0.0.11:9090"
    assert settings.url("loki") == "http://10.0.0.12:3100"


def test_deploy_group_data_pins_every_version(repo_root: Path) -> None:
    """group_data/all.py pins a version for each component, and nothing else unknown."""
    data = {k: v for k, v in runpy.run_path(str(repo_root / "deploy" / "group_data" / "all.py")).items() if not k.startswith("_")}
    assert {f"{c}_version" for c in COMPONENTS} <= set(data)
    assert set(data) <= set(ALL_DEFAULTS)
    # Group data pins versions only; a host's own data routes the alerts.
    settings_from_host_data({**data, "alertmanager_allow_no_receivers": True})
