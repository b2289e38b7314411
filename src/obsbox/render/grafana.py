"""Grafana: grafana.ini, correlated datasources, and the dashboard provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsbox.render import ports
from obsbox.render._yaml import MANAGED_HEADER, dump_yaml
from obsbox.render.listen import LocalServer
from obsbox.render.systemd import credential_path
from obsbox.render.tls import TlsFiles

# Datasource uids are fixed so that dashboards and the correlations below can name them.
UID_PROMETHEUS = "prometheus"
UID_LOKI = "loki"
UID_TEMPO = "tempo"
UID_ALERTMANAGER = "alertmanager"


@dataclass(frozen=True)
class GrafanaSettings(LocalServer):
    http_port: int = ports.GRAFANA
    data_dir: str = "/var/lib/grafana"
    provisioning_dir: str = "/etc/grafana/provisioning"
    admin_user: str = "admin"
    # Read through $__file{}: the generated password is never in grafana.ini itself.
    admin_password_file: str = credential_path("grafana", "admin_password")
    # Signs and encrypts Grafana's stored secrets; generated on the host, read the same way.
    secret_key_file: str = credential_path("grafana", "secret_key")
    root_url: str = ""
    # HTTPS: certificate and key files on the host; None serves plain HTTP.
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        if not self.admin_user or self.admin_user.strip() != self.admin_user:
            raise ValueError(f"grafana admin_user {self.admin_user!r} is empty or has spaces")


def _ini(sections: dict[str, dict[str, str]]) -> str:
    lines = [f"; {MANAGED_HEADER}"]
    for name, values in sections.items():
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def render_grafana_ini(settings: GrafanaSettings) -> str:
    """Render grafana.ini."""
    s = settings
    server = {"http_addr": s.listen_address, "http_port": str(s.http_port)}
    if s.tls is not None:
        server.update({"protocol": "https", "cert_file": s.tls.cert_file, "cert_key": s.tls.key_file})
    if s.root_url:
        server["root_url"] = s.root_url
    return _ini(
        {
            "paths": {
                "data": s.data_dir,
                "logs": f"{s.data_dir}/log",
                "plugins": f"{s.data_dir}/plugins",
                "provisioning": s.provisioning_dir,
            },
            "server": server,
            "security": {
                "admin_user": s.admin_user,
                "admin_password": f"$__file{{{s.admin_password_file}}}",
                "secret_key": f"$__file{{{s.secret_key_file}}}",
                "disable_gravatar": "true",
                "cookie_samesite": "strict",
            },
            "users": {"allow_sign_up": "false", "allow_org_create": "false"},
            "auth.anonymous": {"enabled": "false"},
            "analytics": {"reporting_enabled": "false", "check_for_updates": "false"},
            "log": {"mode": "console"},
        }
    )


@dataclass(frozen=True)
class DatasourceAuth:
    """Basic auth towards a datasource; the password reaches Grafana as an environment variable.

    Environment lookups are the documented way to keep secrets out of provisioning files; the
    variable comes from a root-only EnvironmentFile that systemd reads.
    """

    username: str
    password_env: str

    def __post_init__(self) -> None:
        if not self.password_env.isidentifier():
            raise ValueError(f"datasource password variable {self.password_env!r} is not a valid name")


@dataclass(frozen=True)
class DatasourcesSettings:
    prometheus_url: str = f"http://127.0.0.1:{ports.PROMETHEUS}"
    loki_url: str = f"http://127.0.0.1:{ports.LOKI_HTTP}"
    tempo_url: str = f"http://127.0.0.1:{ports.TEMPO_HTTP}"
    alertmanager_url: str = f"http://127.0.0.1:{ports.ALERTMANAGER}"
    prometheus_auth: DatasourceAuth | None = None
    alertmanager_auth: DatasourceAuth | None = None
    # CA certificate file (on the host) for https datasource URLs signed by a private CA.
    tls_ca_file: str = ""
    # Span attribute / structured metadata key carrying the trace id in logs.
    trace_id_field: str = "trace_id"

    def __post_init__(self) -> None:
        for name in ("prometheus_url", "loki_url", "tempo_url", "alertmanager_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"grafana datasource {name} {url!r} is not an http(s) URL")


def _with_ca(source: dict[str, Any], ca_file: str) -> dict[str, Any]:
    if ca_file and str(source["url"]).startswith("https://"):
        source.setdefault("jsonData", {})["tlsAuthWithCACert"] = True
        source.setdefault("secureJsonData", {})["tlsCACert"] = f"$__file{{{ca_file}}}"
    return source


def _with_auth(source: dict[str, Any], auth: DatasourceAuth | None) -> dict[str, Any]:
    if auth is not None:
        source["basicAuth"] = True
        source["basicAuthUser"] = auth.username
        source.setdefault("secureJsonData", {})["basicAuthPassword"] = f"${{{auth.password_env}}}"
    return source


def render_grafana_datasources(settings: DatasourcesSettings) -> str:
    """Render provisioning/datasources/obsbox.yaml with the signals linked to each other."""
    s = settings
    prometheus = _with_auth(
        {
            "name": "Prometheus",
            "uid": UID_PROMETHEUS,
            "type": "prometheus",
            "access": "proxy",
            "url": s.prometheus_url,
            "isDefault": True,
            "editable": False,
            "jsonData": {
                "httpMethod": "POST",
                # Exemplars to traces: an exemplar's trace_id opens the trace in Tempo.
                "exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": UID_TEMPO}],
            },
        },
        s.prometheus_auth,
    )
    loki = {
        "name": "Loki",
        "uid": UID_LOKI,
        "type": "loki",
        "access": "proxy",
        "url": s.loki_url,
        "editable": False,
        "jsonData": {
            # Logs to traces: the trace id kept as structured metadata becomes a link to Tempo.
            "derivedFields": [
                {
                    "name": "TraceID",
                    "matcherType": "label",
                    "matcherRegex": s.trace_id_field,
                    "datasourceUid": UID_TEMPO,
                    "url": "$${__value.raw}",
                    "urlDisplayLabel": "View trace",
                }
            ]
        },
    }
    tempo = {
        "name": "Tempo",
        "uid": UID_TEMPO,
        "type": "tempo",
        "access": "proxy",
        "url": s.tempo_url,
        "editable": False,
        "jsonData": {
            # Traces to logs: every log line that carries the span's trace id.
            "tracesToLogsV2": {
                "datasourceUid": UID_LOKI,
                "filterByTraceID": True,
                "filterBySpanID": False,
                "spanStartTimeShift": "-5m",
                "spanEndTimeShift": "5m",
                "tags": [{"key": "service.name", "value": "service_name"}],
            },
            "tracesToMetrics": {
                "datasourceUid": UID_PROMETHEUS,
                "tags": [{"key": "service.name", "value": "job"}],
            },
            # No serviceMap: it reads the traces_service_graph_* series of Tempo's metrics
            # generator, which this Tempo does not run. The node graph comes from the trace itself.
            "nodeGraph": {"enabled": True},
            "lokiSearch": {"datasourceUid": UID_LOKI},
        },
    }
    alertmanager = _with_auth(
        {
            "name": "Alertmanager",
            "uid": UID_ALERTMANAGER,
            "type": "alertmanager",
            "access": "proxy",
            "url": s.alertmanager_url,
            "editable": False,
            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        },
        s.alertmanager_auth,
    )
    config = {
        "apiVersion": 1,
        "deleteDatasources": [],
        "datasources": [_with_ca(d, s.tls_ca_file) for d in (prometheus, loki, tempo, alertmanager)],
    }
    return dump_yaml(config, MANAGED_HEADER)


@dataclass(frozen=True)
class DashboardProviderSettings:
    dashboards_dir: str = "/var/lib/grafana/dashboards"
    folder: str = "obsbox"


def render_grafana_dashboard_provider(settings: DashboardProviderSettings) -> str:
    """Render provisioning/dashboards/obsbox.yaml pointing at the provisioned JSON files."""
    config = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "obsbox",
                "orgId": 1,
                "folder": settings.folder,
                "type": "file",
                # Dashboards are code: changes made in the UI would be lost on the next deploy.
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": settings.dashboards_dir, "foldersFromFilesStructure": False},
            }
        ],
    }
    return dump_yaml(config, MANAGED_HEADER)
