"""Every host of the HA inventory rendered and checked by the pinned promtool, amtool and collector."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.deploy.localcheck import check_tree
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import StackSettings, settings_from_host_data

PROM_A, STORE, GW_A, APP = "10.0.0.21", "10.0.0.23", "10.0.0.24", "10.0.1.21"
CHECKS = {
    "promtool check config": "promtool",
    "promtool check rules": "promtool",
    "promtool check web-config": "promtool",
    "amtool check-config": "amtool",
    "otelcol validate": "otelcol",
}


@pytest.fixture
def ha(inventory_hosts: Callable[[str], dict[str, dict]], repo_root: Path) -> dict[str, StackSettings]:
    rules = str(repo_root / "alert_rules")
    return {
        a: settings_from_host_data({**d, "obsbox_rules_dir": rules})
        for a, d in inventory_hosts("ha.py").items()
    }


def _checked(settings: StackSettings, root: Path) -> list:
    for path, content in render_host_files(settings).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return [r for r in check_tree(root, settings) if r.name in CHECKS]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (
            PROM_A,
            {
                "promtool check config",
                "promtool check rules",
                "promtool check web-config",
                "amtool check-config",
            },
        ),
        (STORE, {"amtool check-config"}),
        (GW_A, {"otelcol validate"}),
        (APP, {"otelcol validate"}),
    ],
    ids=["prom-a", "store", "gw-a", "app-1"],
)
def test_ha_host_files_pass_the_pinned_validators(
    ha: dict[str, StackSettings],
    pinned_tool: Callable[[str], str],
    tmp_path: Path,
    host: str,
    expected: set[str],
) -> None:
    """Each role's configs (remote write, gossip peers, the agent's load_balancing exporter) pass their validator."""
    results = _checked(ha[host], tmp_path)
    assert expected <= {r.name for r in results}, [r.name for r in results]
    for result in results:
        assert result.tool == pinned_tool(CHECKS[result.name]), (result.name, result.tool)
        assert result.ok, (result.name, result.output)


def test_ha_agent_config_fails_on_a_collector_without_load_balancing(
    ha: dict[str, StackSettings], pinned_tool: Callable[[str], str], tmp_path: Path
) -> None:
    """The check has teeth: the same agent config with the exporter renamed to one no build has is refused."""
    _checked(ha[APP], tmp_path)
    config = tmp_path / "etc/otelcol/config.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text().replace("load_balancing", "loadbalancing_missing"))
    proc = subprocess.run(
        [pinned_tool("otelcol"), "validate", f"--config={broken}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "loadbalancing_missing" in proc.stdout + proc.stderr


def test_ha_prometheus_remote_write_relabel_is_checked(
    ha: dict[str, StackSettings], pinned_tool: Callable[[str], str], tmp_path: Path
) -> None:
    """promtool reads the remote_write block: a bad labeldrop regex in it fails the check."""
    _checked(ha[PROM_A], tmp_path)
    config = tmp_path / "etc/prometheus/prometheus.yml"
    text = config.read_text()
    assert "remote_write:" in text
    broken = tmp_path / "broken.yml"
    broken.write_text(
        text.replace("- regex: replica\n    action: labeldrop", "- regex: '(replica'\n    action: labeldrop")
    )
    assert broken.read_text() != text
    proc = subprocess.run(
        [pinned_tool("promtool"), "check", "config", "--syntax-only", str(broken)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
