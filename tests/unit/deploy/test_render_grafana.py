"""Grafana ini, datasources and dashboard provider rendering, parsed back (pure)."""

from __future__ import annotations

import configparser

import pytest
import yaml

from obsbox.render.grafana import (
    DashboardProviderSettings,
    DatasourceAuth,
    DatasourcesSettings,
    GrafanaSettings,
    render_grafana_dashboard_provider,
    render_grafana_datasources,
    render_grafana_ini,
)


def _ini(settings: GrafanaSettings) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(render_grafana_ini(settings))
    return parser


def _sources(settings: DatasourcesSettings) -> dict[str, dict]:
    return {s["uid"]: s for s in yaml.safe_load(render_grafana_datasources(settings))["datasources"]}


def test_render_grafana_ini_anonymous_off_and_no_sign_up() -> None:
    """Anonymous access and self sign-up are off."""
    ini = _ini(GrafanaSettings())
    assert ini["auth.anonymous"]["enabled"] == "false"
    assert ini["users"]["allow_sign_up"] == "false"


def test_render_grafana_ini_reads_admin_password_from_file() -> None:
    """The admin password is read from the credentials file, never written into grafana.ini."""
    ini = _ini(GrafanaSettings(admin_password_file="/run/credentials/grafana.service/admin_password"))
    assert ini["security"]["admin_password"] == "$__file{/run/credentials/grafana.service/admin_password}"


def test_render_grafana_ini_binds_listen_address() -> None:
    """Grafana's HTTP server binds the configured address and port."""
    ini = _ini(GrafanaSettings(listen_address="10.0.0.13", http_port=3001))
    assert (ini["server"]["http_addr"], ini["server"]["http_port"]) == ("10.0.0.13", "3001")


def test_render_grafana_datasources_exemplars_link_to_tempo() -> None:
    """Prometheus exemplars carry trace_id to the Tempo datasource."""
    prom = _sources(DatasourcesSettings())["prometheus"]
    assert prom["jsonData"]["exemplarTraceIdDestinations"] == [{"name": "trace_id", "datasourceUid": "tempo"}]
    assert prom["isDefault"] is True


def test_render_grafana_datasources_traces_to_logs_by_trace_id() -> None:
    """Tempo links a trace to Loki lines filtered by its trace id."""
    tempo = _sources(DatasourcesSettings())["tempo"]["jsonData"]["tracesToLogsV2"]
    assert (tempo["datasourceUid"], tempo["filterByTraceID"]) == ("loki", True)


def test_render_grafana_datasources_logs_to_traces_by_derived_field() -> None:
    """Loki's derived field turns the trace_id metadata into a Tempo link."""
    (field,) = _sources(DatasourcesSettings())["loki"]["jsonData"]["derivedFields"]
    assert (field["matcherType"], field["matcherRegex"], field["datasourceUid"]) == ("label", "trace_id", "tempo")
    # "$$" escapes Grafana's env expansion so the link keeps ${__value.raw}.
    assert field["url"] == "$${__value.raw}"


def test_render_grafana_datasources_has_alertmanager() -> None:
    """An Alertmanager datasource of the Prometheus implementation points at its URL."""
    am = _sources(DatasourcesSettings(alertmanager_url="http://10.0.0.11:9093"))["alertmanager"]
    assert (am["type"], am["url"], am["jsonData"]["implementation"]) == ("alertmanager", "http://10.0.0.11:9093", "prometheus")


def test_render_grafana_datasources_basic_auth_from_environment() -> None:
    """With basic auth the password is an environment lookup, never inline."""
    auth = DatasourceAuth("obsbox", "OBSBOX_PROMETHEUS_PASSWORD")
    prom = _sources(DatasourcesSettings(prometheus_auth=auth))["prometheus"]
    assert prom["basicAuth"] is True and prom["basicAuthUser"] == "obsbox"
    assert prom["secureJsonData"] == {"basicAuthPassword": "${OBSBOX_PROMETHEUS_PASSWORD}"}


def test_render_grafana_datasources_refuse_non_url() -> None:
    """A datasource URL without a scheme is refused, naming the field."""
    with pytest.raises(ValueError, match="loki_url"):
        DatasourcesSettings(loki_url="10.0.0.12:3100")


def test_render_grafana_dashboard_provider_points_at_dir() -> None:
    """The file provider reads the provisioned dashboards dir and forbids UI edits."""
    (provider,) = yaml.safe_load(
        render_grafana_dashboard_provider(DashboardProviderSettings(dashboards_dir="/var/lib/grafana/dashboards"))
    )["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert (provider["type"], provider["allowUiUpdates"]) == ("file", False)
