"""Inventory data -> settings: defaults, checks and clear errors (pure)."""

from __future__ import annotations

from collections.abc import Callable

import bcrypt
import pytest

from obsbox.deploy.settings import ALL_DEFAULTS, COMPONENTS, InventoryDataError, StackSettings


def test_deploy_settings_defaults_enable_everything_on_loopback(make_settings: Callable[..., StackSettings]) -> None:
    """With no data every component but the HA layout's VictoriaMetrics is enabled, installed from archives, on 127.0.0.1."""
    settings = make_settings()
    assert all(settings.enabled(c) == (c != "victoriametrics") for c in COMPONENTS)
    assert {settings.install[c].method for c in COMPONENTS} == {"archive"}
    assert {settings.install[c].listen_address for c in COMPONENTS} == {"127.0.0.1"}


def test_deploy_settings_every_component_has_its_keys() -> None:
    """Every component has version, install method, enabled, listen address and url keys with defaults."""
    for component in COMPONENTS:
        for setting in ("version", "install_method", "enabled", "listen_address", "url", "archive_sha256"):
            assert f"{component}_{setting}" in ALL_DEFAULTS


def test_deploy_settings_bind_address_flows_into_urls(make_settings: Callable[..., StackSettings]) -> None:
    """obsbox_bind_address becomes each component's listen address and default URL."""
    settings = make_settings(obsbox_bind_address="10.0.0.11", obsbox_allow_unauthenticated=list(COMPONENTS))
    assert settings.url("prometheus") == "http://10.0.0.11:9090"
    assert settings.loki.listen_address == "10.0.0.11"


def test_deploy_settings_url_override_reaches_collector(make_settings: Callable[..., StackSettings]) -> None:
    """A remote Loki and Tempo URL become the collector's export endpoints."""
    settings = make_settings(loki_url="http://10.0.0.12:3100", tempo_url="http://10.0.0.12:3200")
    assert settings.otelcol.loki_otlp_url == "http://10.0.0.12:3100/otlp"
    assert settings.otelcol.tempo_otlp_endpoint == "10.0.0.12:4417"


def test_deploy_settings_bad_port_names_the_key(make_settings: Callable[..., StackSettings]) -> None:
    """A port out of range is an error naming the key and value."""
    with pytest.raises(InventoryDataError, match=r"prometheus_port: 70000 is outside 1\.\.65535"):
        make_settings(prometheus_port=70000)


def test_deploy_settings_wrong_type_names_the_key(make_settings: Callable[..., StackSettings]) -> None:
    """A string where an integer belongs is an error naming the key."""
    with pytest.raises(InventoryDataError, match="loki_port: expected an integer, got str '3100'"):
        make_settings(loki_port="3100")


def test_deploy_settings_typo_suggests_the_key(make_settings: Callable[..., StackSettings]) -> None:
    """An unknown key with a component prefix is refused with the closest known key."""
    with pytest.raises(InventoryDataError, match="did you mean prometheus_retention_time"):
        make_settings(prometheus_retension_time="30d")


def test_deploy_settings_foreign_keys_are_ignored(make_settings: Callable[..., StackSettings]) -> None:
    """Keys outside obsbox's prefixes (pyinfra's ssh_* and others) pass untouched."""
    assert make_settings(ssh_user="root", demo_mirror="x").enabled("grafana")


def test_deploy_settings_package_method_only_where_debian_has_it(make_settings: Callable[..., StackSettings]) -> None:
    """install_method package is refused for a component Debian does not ship."""
    assert make_settings(prometheus_install_method="package").install["prometheus"].method == "package"
    with pytest.raises(InventoryDataError, match="'package' is not available for loki"):
        make_settings(loki_install_method="package")


def test_deploy_settings_bad_retention_size(make_settings: Callable[..., StackSettings]) -> None:
    """A retention size without a unit is refused."""
    with pytest.raises(InventoryDataError, match="prometheus_retention_size: '10' is not a size like 10GB"):
        make_settings(prometheus_retention_size="10")


def test_deploy_settings_bad_service_target(make_settings: Callable[..., StackSettings]) -> None:
    """A service target without a port is refused, naming the service."""
    with pytest.raises(InventoryDataError, match=r"prometheus_service_targets\.billing: 'billing.internal' is not host:port"):
        make_settings(prometheus_service_targets={"billing": ["billing.internal"]})


def test_deploy_settings_pinned_hash_must_match_password(make_settings: Callable[..., StackSettings]) -> None:
    """A pinned bcrypt hash of another password is refused."""
    other = bcrypt.hashpw(b"other", bcrypt.gensalt(rounds=4)).decode()
    with pytest.raises(InventoryDataError, match="does not match prometheus_basic_auth_password"):
        make_settings(prometheus_basic_auth_password="secret", prometheus_basic_auth_password_hash=other)


def test_deploy_settings_basic_auth_off_without_password(make_settings: Callable[..., StackSettings]) -> None:
    """Basic auth is off until a password is set."""
    assert make_settings().prometheus_auth is None
    assert make_settings(alertmanager_basic_auth_password="s").alertmanager_auth is not None


def test_deploy_settings_alertmanager_fields_pass_through(make_settings: Callable[..., StackSettings]) -> None:
    """alertmanager_<field> keys reach the Alertmanager renderer's settings, lists as tuples."""
    settings = make_settings(
        alertmanager_page_webhook_url="https://pager.example/hook", alertmanager_group_by=["alertname", "host"]
    )
    assert settings.alertmanager.page_webhook_url == "https://pager.example/hook"
    assert settings.alertmanager.group_by == ("alertname", "host")


def test_deploy_settings_alertmanager_renderer_error_is_reported(make_settings: Callable[..., StackSettings]) -> None:
    """A bad value for the Alertmanager renderer is an inventory data error."""
    with pytest.raises(InventoryDataError, match="page_webhook_url"):
        make_settings(alertmanager_page_webhook_url="pager.example")


def test_deploy_settings_grafana_url_needs_sha(make_settings: Callable[..., StackSettings]) -> None:
    """A pinned Grafana archive URL without its sha256 is refused."""
    with pytest.raises(InventoryDataError, match="grafana_archive_url: set without grafana_archive_sha256"):
        make_settings(grafana_archive_url="https://dl.grafana.com/oss/release/grafana_12.1.1_1_linux_amd64.tar.gz")


def test_deploy_settings_refuse_quote_in_password(make_settings: Callable[..., StackSettings]) -> None:
    """A password with a single quote is refused (it could not pass through the EnvironmentFile)."""
    with pytest.raises(InventoryDataError, match="alertmanager_basic_auth_password: quotes"):
        make_settings(alertmanager_basic_auth_password="it's")


def test_deploy_settings_missing_rules_dir_is_an_error(make_settings: Callable[..., StackSettings], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An explicitly configured rules directory that does not exist is refused, naming the key."""
    with pytest.raises(InventoryDataError, match="obsbox_rules_dir: .* is not a directory"):
        make_settings(obsbox_rules_dir=str(tmp_path / "nope"))
