"""Issue 8 item 8: listeners off loopback need authentication or an explicit allowance; TLS and
the collector's bearer token are offered; Grafana's secret_key is generated (pure)."""

from __future__ import annotations

import configparser
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from obsbox.deploy.plan import GRAFANA_SECRET_KEY_FILE, OTELCOL_TOKEN_FILE, ComponentPlan, plan_for
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import COMPONENTS, InventoryDataError, StackSettings, settings_from_host_data
from obsbox.render.systemd import render_unit
from tests.conftest import INVENTORY_SECRETS

AUTH = {
    "prometheus_basic_auth_password": "p-secret",
    "alertmanager_basic_auth_password": "a-secret",
    "node_exporter_basic_auth_password": "n-secret",
    "otelcol_otlp_bearer_token": "token-0123456789abcdef",
}
TOKEN = AUTH["otelcol_otlp_bearer_token"]


def _files(plan: ComponentPlan) -> dict[str, str]:
    return {f.path: f.content for g in plan.groups for f in g.files}


@pytest.mark.parametrize(
    ("component", "key"),
    [
        ("node_exporter", "node_exporter_basic_auth_password"),
        ("prometheus", "prometheus_basic_auth_password"),
        ("alertmanager", "alertmanager_basic_auth_password"),
        ("otelcol", "otelcol_otlp_bearer_token"),
    ],
)
def test_deploy_open_bind_without_auth_refused(component: str, key: str, make_settings: Callable[..., StackSettings]) -> None:
    """obsbox_bind_address 0.0.0.0 with one component's auth missing is refused naming that key."""
    others = {k: v for k, v in AUTH.items() if k != key}
    with pytest.raises(InventoryDataError, match=rf"^{key}: not set, but {component} would listen on 0\.0\.0\.0"):
        make_settings(obsbox_bind_address="0.0.0.0", obsbox_allow_unauthenticated=["loki", "tempo"], **others)


@pytest.mark.parametrize("component", ["loki", "tempo"])
def test_deploy_open_loki_tempo_need_explicit_allowance(component: str, make_settings: Callable[..., StackSettings]) -> None:
    """Loki and Tempo have no auth: off loopback they need obsbox_allow_unauthenticated, which the error names."""
    other = "tempo" if component == "loki" else "loki"
    with pytest.raises(InventoryDataError, match=rf"^obsbox_allow_unauthenticated: {component} would listen on 10\.0\.0\.12"):
        make_settings(obsbox_bind_address="10.0.0.12", obsbox_allow_unauthenticated=[other], **AUTH)


def test_deploy_open_bind_accepted_with_auth_and_allowance(make_settings: Callable[..., StackSettings]) -> None:
    """With every auth set and Loki/Tempo allowed explicitly, an internal bind is accepted."""
    settings = make_settings(obsbox_bind_address="10.0.0.12", obsbox_allow_unauthenticated=["loki", "tempo"], **AUTH)
    assert all(settings.enabled(c) == (c != "victoriametrics") for c in COMPONENTS)


def test_deploy_allow_unauthenticated_refuses_unknown_component(make_settings: Callable[..., StackSettings]) -> None:
    """A typo in the allowance list is an error naming the key, not a silent no-op."""
    with pytest.raises(InventoryDataError, match="^obsbox_allow_unauthenticated: expected a list of component names"):
        make_settings(obsbox_allow_unauthenticated=["lokki"])


def test_deploy_multi_host_inventory_without_secrets_refused(
    inventory_hosts: Callable[..., dict[str, dict]]
) -> None:
    """The multi-host example without its secrets in the environment is refused, naming the key."""
    secrets = {k: v for k, v in INVENTORY_SECRETS.items() if k != "OBSBOX_PROMETHEUS_PASSWORD"}
    hosts = inventory_hosts("multi_host.py", secrets=secrets)
    with pytest.raises(InventoryDataError, match="^prometheus_basic_auth_password: not set"):
        settings_from_host_data(hosts["10.0.0.11"])


def test_deploy_collector_receivers_require_bearer_token(make_settings: Callable[..., StackSettings]) -> None:
    """With a token both OTLP receivers authenticate through bearertokenauth reading a root-only credential."""
    plan = plan_for(make_settings(otelcol_otlp_bearer_token=TOKEN), "otelcol")
    files = _files(plan)
    config = yaml.safe_load(files["/etc/otelcol/config.yaml"])
    for protocol in ("grpc", "http"):
        assert config["receivers"]["otlp"]["protocols"][protocol]["auth"] == {"authenticator": "bearertokenauth"}
    token_file = config["extensions"]["bearertokenauth"]["filename"]
    assert "bearertokenauth" in config["service"]["extensions"]
    assert TOKEN not in files["/etc/otelcol/config.yaml"]
    (secret,) = [f for g in plan.groups for f in g.files if f.path == OTELCOL_TOKEN_FILE]
    assert (secret.user, secret.group, secret.mode, secret.content.strip()) == ("root", "root", "0600", TOKEN)
    assert f"LoadCredential={Path(token_file).name}:{OTELCOL_TOKEN_FILE}" in render_unit(plan.unit)
    assert token_file.startswith("/run/credentials/otelcol.service/")


def test_deploy_tls_files_reach_web_configs_and_clients(make_settings: Callable[..., StackSettings]) -> None:
    """TLS files give Prometheus and Alertmanager a tls_server_config, https URLs, and https scrapes/alerting."""
    settings = make_settings(
        prometheus_tls_cert_file="/etc/ssl/obsbox/prom.crt",
        prometheus_tls_key_file="/etc/ssl/obsbox/prom.key",
        alertmanager_tls_cert_file="/etc/ssl/obsbox/am.crt",
        alertmanager_tls_key_file="/etc/ssl/obsbox/am.key",
        obsbox_tls_ca_file="/etc/ssl/obsbox/ca.crt",
    )
    files = render_host_files(settings)
    web = yaml.safe_load(files["/etc/prometheus/web-config.yml"])
    assert web["tls_server_config"]["cert_file"] == "/etc/ssl/obsbox/prom.crt"
    assert yaml.safe_load(files["/etc/alertmanager/web-config.yml"])["tls_server_config"]["key_file"] == "/etc/ssl/obsbox/am.key"
    prom = yaml.safe_load(files["/etc/prometheus/prometheus.yml"])
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["prometheus"]["scheme"] == "https" and jobs["alertmanager"]["scheme"] == "https"
    assert jobs["prometheus"]["tls_config"] == {"ca_file": "/etc/ssl/obsbox/ca.crt"}
    assert prom["alerting"]["alertmanagers"][0]["scheme"] == "https"
    assert plan_for(settings, "prometheus").ready_url.startswith("https://127.0.0.1:9090/")


def test_deploy_tls_needs_both_files(make_settings: Callable[..., StackSettings]) -> None:
    """A certificate without its key is refused naming the missing key."""
    with pytest.raises(InventoryDataError, match="^grafana_tls_key_file: needed too"):
        make_settings(grafana_tls_cert_file="/etc/ssl/obsbox/grafana.crt")


def test_deploy_grafana_https_and_generated_secret_key(make_settings: Callable[..., StackSettings]) -> None:
    """Grafana serves https from the given files, and its secret_key is generated on the host and read as a credential."""
    plan = plan_for(
        make_settings(grafana_tls_cert_file="/etc/ssl/g.crt", grafana_tls_key_file="/etc/ssl/g.key"), "grafana"
    )
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(_files(plan)["/etc/grafana/grafana.ini"])
    server = ini["server"]
    assert (server["protocol"], server["cert_file"], server["cert_key"]) == ("https", "/etc/ssl/g.crt", "/etc/ssl/g.key")
    assert ini["security"]["secret_key"] == "$__file{/run/credentials/grafana.service/secret_key}"
    assert GRAFANA_SECRET_KEY_FILE in plan.generated_secrets
    assert ("secret_key", GRAFANA_SECRET_KEY_FILE) in plan.unit.credentials
    assert plan.ready_url.startswith("https://")


def test_deploy_stack_installs_each_validator_before_its_first_use(make_settings: Callable[..., StackSettings]) -> None:
    """In deploy_stack's order, the component shipping a validator (promtool for web configs) comes first."""
    from obsbox.deploy.operations.stack import ORDER

    settings = make_settings(node_exporter_basic_auth_password="n0de")
    provider = {"promtool": "prometheus", "amtool": "alertmanager", "loki": "loki", "tempo": "tempo"}
    order = [component for component, _deploy in ORDER]
    for index, component in enumerate(order):
        for group in plan_for(settings, component).groups:
            tool = group.check.split(" ")[0]
            if tool in provider:
                assert order.index(provider[tool]) <= index, f"{component} runs {tool} before {provider[tool]} is installed"
