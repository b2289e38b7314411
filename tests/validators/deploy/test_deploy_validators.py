"""Rendered stack configs through the real validators here: promtool and amtool of the pinned
builds (what the deploy installs), systemd-analyze."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.deploy.localcheck import MAX_EXPOSURE, check_tree, unit_exposure
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import COMPONENTS, StackSettings, settings_from_host_data

# Every receiver routed somewhere: the deploy refuses an Alertmanager that notifies nobody.
ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


def _write(settings: StackSettings, root: Path) -> None:
    for path, content in render_host_files(settings).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def _results(settings: StackSettings, root: Path, name: str, pinned: dict[str, str]) -> list:
    """check_tree's results of one check, each of which must have run the pinned build."""
    _write(settings, root)
    results = [r for r in check_tree(root, settings) if r.name == name]
    assert all(r.tool == pinned[name] for r in results), [(r.name, r.tool) for r in results]
    return results


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed on this machine")


@pytest.fixture
def pinned_checks(pinned_tool: Callable[[str], str]) -> dict[str, str]:
    """The pinned builds check_tree must run: {check name: executable}; fails when one is missing."""
    return {
        "promtool check config": pinned_tool("promtool"),
        "promtool check rules": pinned_tool("promtool"),
        "promtool check web-config": pinned_tool("promtool"),
        "amtool check-config": pinned_tool("amtool"),
        "otelcol validate": pinned_tool("otelcol"),
    }


@pytest.fixture
def settings_with(repo_root: Path) -> Callable[..., StackSettings]:
    def make(**data: object) -> StackSettings:
        return settings_from_host_data({"obsbox_rules_dir": str(repo_root / "alert_rules"), **ROUTED, **data})

    return make


def test_deploy_promtool_accepts_config_with_repository_rules(settings_with, pinned_checks: dict[str, str], tmp_path: Path, repo_root: Path) -> None:  # type: ignore[no-untyped-def]
    """promtool check config passes on the rendered prometheus.yml loading the repository's rule files."""
    assert list((repo_root / "alert_rules").glob("*.rules.yaml")), "alert_rules/ holds no *.rules.yaml"
    (result,) = _results(settings_with(), tmp_path, "promtool check config", pinned_checks)
    assert result.ok, result.output
    assert "rule files found" in result.output or "SUCCESS" in result.output


def test_deploy_loads_rule_files_of_every_shipped_suffix(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A `*.rules.yml` file the deploy ships is also one prometheus.yml loads (promtool names it)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.rules.yaml").write_text("groups:\n- name: a\n  rules:\n  - record: a:up:sum\n    expr: sum(up)\n")
    (rules / "b.rules.yml").write_text("groups:\n- name: b\n  rules:\n  - record: b:up:sum\n    expr: sum(up)\n")
    (result,) = _results(settings_with(obsbox_rules_dir=str(rules)), tmp_path / "tree", "promtool check config", pinned_checks)
    assert result.ok, result.output
    assert "a.rules.yaml" in result.output and "b.rules.yml" in result.output, result.output


def test_deploy_promtool_accepts_repository_rules(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """promtool check rules passes on the rule files as the deploy installs them."""
    (result,) = _results(settings_with(), tmp_path, "promtool check rules", pinned_checks)
    assert result.ok, result.output


def test_deploy_promtool_accepts_bcrypt_web_config(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """promtool check web-config passes on web configs carrying bcrypt hashes for the three services."""
    settings = settings_with(
        prometheus_basic_auth_password="s3cret",
        alertmanager_basic_auth_password="0ther",
        node_exporter_basic_auth_password="n0de",
    )
    results = _results(settings, tmp_path, "promtool check web-config", pinned_checks)
    assert len(results) == 3
    assert all(r.ok for r in results), [r.output for r in results]
    assert "$2b$" in (tmp_path / "etc/prometheus/web-config.yml").read_text()


def test_deploy_promtool_rejects_broken_web_config(promtool: str, tmp_path: Path) -> None:
    """A web config with a plaintext password fails promtool's check (the check has teeth)."""
    import subprocess

    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users:\n  obsbox: plaintext\n")
    result = subprocess.run([promtool, "check", "web-config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode != 0


def test_deploy_promtool_accepts_basic_auth_scrape_config(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The config with basic auth towards Prometheus and Alertmanager still passes promtool."""
    settings = settings_with(
        prometheus_basic_auth_password="s3cret",
        alertmanager_basic_auth_password="0ther",
        prometheus_service_targets={"billing-api": ["10.0.1.21:9464"]},
    )
    (result,) = _results(settings, tmp_path, "promtool check config", pinned_checks)
    assert result.ok, result.output


def test_deploy_amtool_accepts_rendered_alertmanager_config(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """amtool check-config passes on the alertmanager.yml the deploy installs."""
    (result,) = _results(settings_with(alertmanager_watchdog_webhook_url="https://hc.example/ping"), tmp_path, "amtool check-config", pinned_checks)
    assert result.ok, result.output


def test_deploy_checks_run_the_pinned_builds(settings_with, pinned_checks: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every promtool, amtool and otelcol check of a full render ran obsbox's pinned build and passed."""
    settings = settings_with(prometheus_basic_auth_password="s3cret")
    _write(settings, tmp_path)
    results = [r for r in check_tree(tmp_path, settings) if r.name in pinned_checks]
    assert {r.name for r in results} == set(pinned_checks)
    for result in results:
        assert result.tool == pinned_checks[result.name], (result.name, result.tool)
        assert result.ok, (result.name, result.output)


@pytest.mark.parametrize("component", COMPONENTS)
def test_deploy_unit_exposure_within_target(component: str, settings_with, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """systemd-analyze security --offline rates each rendered unit at exposure 3.0 or less."""
    _require("systemd-analyze")
    _write(settings_with(obsbox_ip_address_allow=["127.0.0.0/8"], victoriametrics_enabled=True), tmp_path)
    exposure, output = unit_exposure(tmp_path / "etc/systemd/system" / f"{component}.service")
    assert exposure is not None, output
    assert exposure <= MAX_EXPOSURE


def test_deploy_unit_exposure_detects_unhardened_unit(tmp_path: Path) -> None:
    """An unhardened unit scores above the target, so the exposure check can fail."""
    _require("systemd-analyze")
    unit = tmp_path / "bare.service"
    unit.write_text("[Service]\nExecStart=/usr/bin/true\n")
    exposure, output = unit_exposure(unit)
    assert exposure is not None and exposure > MAX_EXPOSURE, output
