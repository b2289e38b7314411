"""What each component gets on a host: files, owners, modes, units (pure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from obsbox.deploy.plan import (
    CHECK_PROMTOOL_CONFIG,
    CHECK_PROMTOOL_RULES,
    GRAFANA_ADMIN_PASSWORD_FILE,
    plan_for,
)
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import StackSettings


def _files(plan) -> dict:  # type: ignore[no-untyped-def]
    return {f.path: f for group in plan.groups for f in group.files}


def test_deploy_plan_prometheus_rules_checked_before_config(
    make_settings: Callable[..., StackSettings], tmp_path: Path
) -> None:
    """Rule files are swapped (after promtool check rules) before prometheus.yml is checked."""
    (tmp_path / "a.rules.yaml").write_text("groups: []\n")
    (tmp_path / "notes.md").write_text("not a rule file\n")
    plan = plan_for(make_settings(obsbox_rules_dir=str(tmp_path)), "prometheus")
    checks = [g.check for g in plan.groups]
    assert checks.index(CHECK_PROMTOOL_RULES) < checks.index(CHECK_PROMTOOL_CONFIG)
    rules = next(g for g in plan.groups if g.check == CHECK_PROMTOOL_RULES)
    assert [f.path for f in rules.files] == ["/etc/prometheus/rules/a.rules.yaml"]


def test_deploy_plan_scrapes_inventory_services(make_settings: Callable[..., StackSettings]) -> None:
    """Each inventory service is a scrape job named after it."""
    plan = plan_for(make_settings(prometheus_service_targets={"billing-api": ["10.0.1.21:9464"]}), "prometheus")
    config = yaml.safe_load(_files(plan)["/etc/prometheus/prometheus.yml"].content)
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs["billing-api"] == ["10.0.1.21:9464"]
    assert set(jobs) >= {"prometheus", "alertmanager", "node", "loki", "tempo", "grafana", "otelcol", "otelcol-otlp-metrics"}


def test_deploy_plan_disabled_components_not_scraped_here(make_settings: Callable[..., StackSettings]) -> None:
    """A component disabled on this host and without explicit targets is not scraped."""
    plan = plan_for(make_settings(loki_enabled=False), "prometheus")
    config = yaml.safe_load(_files(plan)["/etc/prometheus/prometheus.yml"].content)
    assert "loki" not in {j["job_name"] for j in config["scrape_configs"]}


def test_deploy_plan_prometheus_flags(make_settings: Callable[..., StackSettings]) -> None:
    """Retention by time and size, exemplar storage, web config and listen address are flags."""
    plan = plan_for(
        make_settings(
            obsbox_bind_address="10.0.0.11",
            obsbox_allow_unauthenticated=["node_exporter", "prometheus", "alertmanager", "loki", "tempo", "otelcol"],
            prometheus_retention_time="30d",
            prometheus_retention_size="50GB",
        ),
        "prometheus",
    )
    argv = plan.unit.exec_start
    for flag in (
        "--storage.tsdb.retention.time=30d",
        "--storage.tsdb.retention.size=50GB",
        "--enable-feature=exemplar-storage",
        "--web.listen-address=10.0.0.11:9090",
        "--web.config.file=/etc/prometheus/web-config.yml",
    ):
        assert flag in argv


def test_deploy_plan_secrets_owned_by_service_user(make_settings: Callable[..., StackSettings]) -> None:
    """Password files and the web config are 0640 and owned by the service's user."""
    files = _files(plan_for(make_settings(prometheus_basic_auth_password="s3cret"), "prometheus"))
    for path in ("/etc/prometheus/secrets/basic_auth_password", "/etc/prometheus/web-config.yml"):
        assert (files[path].user, files[path].group, files[path].mode) == ("prometheus", "prometheus", "0640")
    assert files["/etc/prometheus/secrets/basic_auth_password"].content == "s3cret"


def test_deploy_plan_basic_auth_reuses_matching_hash(make_settings: Callable[..., StackSettings]) -> None:
    """A hash already on the host that matches the password is kept (no change on re-runs)."""
    import bcrypt

    current = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    plan = plan_for(make_settings(prometheus_basic_auth_password="s3cret"), "prometheus", current_hash=current)
    web = yaml.safe_load(_files(plan)["/etc/prometheus/web-config.yml"].content)
    assert web["basic_auth_users"]["obsbox"] == current


def test_deploy_plan_basic_auth_replaces_stale_hash(make_settings: Callable[..., StackSettings]) -> None:
    """A hash of an old password is replaced by a hash of the new one."""
    import bcrypt

    stale = bcrypt.hashpw(b"old", bcrypt.gensalt(rounds=4)).decode()
    plan = plan_for(make_settings(prometheus_basic_auth_password="new"), "prometheus", current_hash=stale)
    hashed = yaml.safe_load(_files(plan)["/etc/prometheus/web-config.yml"].content)["basic_auth_users"]["obsbox"]
    assert bcrypt.checkpw(b"new", hashed.encode())


def test_deploy_plan_alertmanager_single_instance_flags(make_settings: Callable[..., StackSettings]) -> None:
    """Alertmanager has no cluster listener and keeps its data in its data dir."""
    argv = plan_for(make_settings(), "alertmanager").unit.exec_start
    assert "--cluster.listen-address=" in argv
    assert "--storage.path=/var/lib/alertmanager" in argv


def test_deploy_plan_grafana_admin_password_generated_and_root_only(make_settings: Callable[..., StackSettings]) -> None:
    """Grafana's admin password is generated on the host and reaches it as a systemd credential."""
    plan = plan_for(make_settings(), "grafana")
    assert GRAFANA_ADMIN_PASSWORD_FILE in plan.generated_secrets
    assert ("admin_password", GRAFANA_ADMIN_PASSWORD_FILE) in plan.unit.credentials
    assert all("admin_password" not in f.content for f in _files(plan).values() if f.path.endswith(".yaml"))


def test_deploy_plan_grafana_provisions_every_dashboard(
    make_settings: Callable[..., StackSettings], tmp_path: Path
) -> None:
    """Every *.json in the dashboards dir is provisioned under Grafana's dashboards path."""
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text("{}")
    files = _files(plan_for(make_settings(obsbox_dashboards_dir=str(tmp_path)), "grafana"))
    assert {p for p in files if p.startswith("/var/lib/grafana/dashboards/")} == {
        "/var/lib/grafana/dashboards/a.json",
        "/var/lib/grafana/dashboards/b.json",
    }


def test_deploy_plan_package_method_uses_debian_binary_and_unit(make_settings: Callable[..., StackSettings]) -> None:
    """With install_method package, Debian's binary runs under Debian's unit name (replacing it)."""
    plan = plan_for(make_settings(alertmanager_install_method="package"), "alertmanager")
    assert plan.unit.exec_start[0] == "/usr/bin/prometheus-alertmanager"
    assert plan.unit.name == "prometheus-alertmanager"


def test_deploy_plan_archive_binaries_are_versioned(make_settings: Callable[..., StackSettings]) -> None:
    """Archive installs run the binary from the version's own directory, so an upgrade changes the unit."""
    plan = plan_for(make_settings(loki_version="3.5.3"), "loki")
    assert plan.unit.exec_start[0] == "/opt/obsbox/loki/3.5.3/loki-linux-amd64"


def test_deploy_plan_host_files_only_for_enabled_components(make_settings: Callable[..., StackSettings]) -> None:
    """A host renders units and configs only for the components enabled on it."""
    files = render_host_files(make_settings(**{f"{c}_enabled": False for c in ("loki", "tempo", "otelcol", "grafana")}))
    units = {p for p in files if p.startswith("/etc/systemd/system/")}
    assert units == {
        "/etc/systemd/system/node_exporter.service",
        "/etc/systemd/system/prometheus.service",
        "/etc/systemd/system/alertmanager.service",
    }


def test_deploy_plan_grafana_datasource_passwords_root_only(make_settings: Callable[..., StackSettings]) -> None:
    """Datasource passwords go to a root-only EnvironmentFile that the unit loads, not to provisioning."""
    plan = plan_for(make_settings(prometheus_basic_auth_password="s3cret"), "grafana")
    env = _files(plan)["/etc/grafana/secrets/datasources.env"]
    assert (env.user, env.group, env.mode, env.content) == ("root", "root", "0600", "OBSBOX_PROMETHEUS_PASSWORD='s3cret'\n")
    assert plan.unit.environment_files == ("/etc/grafana/secrets/datasources.env",)
    assert all("s3cret" not in f.content for p, f in _files(plan).items() if p != env.path)
