"""pyinfra's dry run of deploy/deploy.py against @local with the all-in-one inventory's data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.deploy.settings import COMPONENTS

GRAFANA_PIN = {
    "grafana_archive_url": "https://dl.grafana.com/grafana/release/12.1.1/grafana_12.1.1_16903967602_linux_amd64.tar.gz",
    "grafana_archive_sha256": "ab" * 32,
}


def _dry_run(repo_root: Path, data: dict) -> str:
    pyinfra = Path(sys.executable).parent / "pyinfra"
    argv = [str(pyinfra), "@local", str(repo_root / "deploy" / "deploy.py"), "--dry"]
    for key, value in data.items():
        argv += ["--data", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, cwd=repo_root / "deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)


@pytest.fixture(scope="module")
def all_in_one_plan(repo_root: Path, inventory_hosts: Callable[[str], dict[str, dict]]) -> str:
    (data,) = inventory_hosts("all_in_one.py").values()
    return _dry_run(repo_root, {**data, **GRAFANA_PIN})


def test_deploy_dry_run_plans_every_component_unit(all_in_one_plan: str) -> None:
    """The all-in-one plan uploads, enables and starts a unit for each of its seven components (not the HA store)."""
    for component in (c for c in COMPONENTS if c != "victoriametrics"):
        assert f"Upload /etc/systemd/system/{component}.service" in all_in_one_plan
        assert f"Start {component}" in all_in_one_plan


def test_deploy_dry_run_checks_each_config_with_its_validator(all_in_one_plan: str) -> None:
    """Each config is staged and checked by its component's own validator before it is installed."""
    for validator in ("promtool", "amtool", "loki", "tempo", "otelcol"):
        assert re.search(rf"Check /etc/\S+/\.obsbox-staging/\S+ with {re.escape(validator)}\b", all_in_one_plan), validator
    assert "Install the checked /etc/prometheus/prometheus.yml" in all_in_one_plan


def test_deploy_dry_run_downloads_pinned_releases_with_checksums(all_in_one_plan: str) -> None:
    """Archives and their checksum files come from the pinned upstream releases and are verified."""
    assert "Download https://github.com/prometheus/prometheus/releases/download/v3.5.0/sha256sums.txt" in all_in_one_plan
    assert "Download https://github.com/grafana/loki/releases/download/v3.5.3/loki-linux-amd64.zip" in all_in_one_plan
    assert "Verify /var/cache/obsbox/tempo/2.8.2/tempo_2.8.2_linux_amd64.tar.gz" in all_in_one_plan


def test_deploy_dry_run_waits_for_readiness(all_in_one_plan: str) -> None:
    """After (re)starts the plan waits on each component's readiness endpoint."""
    for expected in (
        "Wait until prometheus is ready at http://127.0.0.1:9090/-/ready",
        "Wait until loki is ready at http://127.0.0.1:3100/ready",
        "Wait until grafana is ready at http://127.0.0.1:3000/api/health",
        "Wait until otelcol is ready at http://127.0.0.1:13133/",
    ):
        assert expected in all_in_one_plan


def test_deploy_dry_run_bad_data_fails_before_any_operation(repo_root: Path) -> None:
    """A bad inventory value stops pyinfra with the host and the key in the message."""
    pyinfra = Path(sys.executable).parent / "pyinfra"
    result = subprocess.run(
        [str(pyinfra), "@local", str(repo_root / "deploy" / "deploy.py"), "--dry", "--data", "loki_port=99999"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    assert "inventory data of host @local: loki_port: 99999 is outside 1..65535" in result.stdout + result.stderr


def test_deploy_dry_run_package_method_uses_debian_packages(repo_root: Path) -> None:
    """With install_method package the plan installs Debian's packages and replaces their units, downloading nothing."""
    data = {
        f"{c}_install_method": "package" for c in ("prometheus", "alertmanager", "node_exporter")
    } | {f"{c}_enabled": False for c in ("loki", "tempo", "otelcol", "grafana")} | {"alertmanager_allow_no_receivers": True}
    plan = _dry_run(repo_root, data)
    for package in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        assert f"Install the Debian package {package}" in plan
        assert f"Upload /etc/systemd/system/{package}.service" in plan
    assert "Download " not in plan


def test_deploy_dry_run_without_network_names_grafana_keys_in_one_line(
    repo_root: Path, inventory_hosts: Callable[[str], dict[str, dict]]
) -> None:
    """Planning without Grafana pins and with no way out (proxies on a closed port) fails in one line naming the keys."""
    import os

    (data,) = inventory_hosts("all_in_one.py").values()
    pyinfra = Path(sys.executable).parent / "pyinfra"
    argv = [str(pyinfra), "@local", str(repo_root / "deploy" / "deploy.py"), "--dry"]
    for key, value in data.items():
        argv += ["--data", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    closed = "http://127.0.0.1:9"
    env = {**os.environ, "https_proxy": closed, "http_proxy": closed, "HTTPS_PROXY": closed, "HTTP_PROXY": closed}
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, cwd=repo_root / "deploy", env=env)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "grafana_archive_url" in line]
    assert len(lines) == 1, output
    assert "grafana_archive_sha256" in lines[0] and "grafana.com/api/downloads/grafana/versions/12.1.1" in lines[0]


ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "alertmanager_page_webhook_url, alertmanager_ticket_webhook_url, alertmanager_watchdog_webhook_url: not set"),
        (
            {**ROUTED, "obsbox_bind_address": "0.0.0.0"},
            "node_exporter_basic_auth_password: not set, but node_exporter would listen on 0.0.0.0",
        ),
        ({**ROUTED, "prometheus_retention_time": "15d"}, "prometheus_retention_time: 15d is shorter than the 30d SLO period"),
    ],
    ids=["pages-to-nowhere", "open-bind", "short-retention"],
)
def test_deploy_dry_run_refuses_unsafe_data_in_one_line(repo_root: Path, data: dict, expected: str) -> None:
    """Unrouted alerts, an open bind without auth and a retention below the SLO period stop the plan in one line."""
    pyinfra = Path(sys.executable).parent / "pyinfra"
    argv = [str(pyinfra), "@local", str(repo_root / "deploy" / "deploy.py"), "--dry"]
    for key, value in data.items():
        argv += ["--data", f"{key}={value}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, cwd=repo_root / "deploy")
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode != 0
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if expected in line]
    assert "inventory data of host @local: " in line
