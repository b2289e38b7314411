"""Where each component lives on a host: user, unit name, directories and binaries."""

from __future__ import annotations

from dataclasses import dataclass

from obsbox.deploy.settings import StackSettings


@dataclass(frozen=True)
class Layout:
    component: str
    human_name: str
    user: str
    # The systemd unit. For Debian packages it keeps the package's name, so that obsbox's unit
    # in /etc/systemd/system replaces the package's own instead of running beside it.
    service: str
    config_dir: str
    data_dir: str
    # Executables by name (the service binary under the component's own name).
    binaries: dict[str, str]
    # Readiness endpoint path on the component's HTTP port.
    ready_path: str

    @property
    def binary(self) -> str:
        return self.binaries[self.component]

    @property
    def staging_dir(self) -> str:
        return f"{self.config_dir}/.obsbox-staging"

    @property
    def secrets_dir(self) -> str:
        return f"{self.config_dir}/secrets"


# component: (human name, user, archive service name, Debian package, Debian service, ready path)
_SPECS: dict[str, tuple[str, str, str, str, str, str]] = {
    "node_exporter": (
        "Node Exporter",
        "node_exporter",
        "node_exporter",
        "prometheus-node-exporter",
        "prometheus-node-exporter",
        "/metrics",
    ),
    "prometheus": ("Prometheus", "prometheus", "prometheus", "prometheus", "prometheus", "/-/ready"),
    "alertmanager": (
        "Alertmanager",
        "alertmanager",
        "alertmanager",
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        "/-/ready",
    ),
    "victoriametrics": (
        "VictoriaMetrics",
        "victoriametrics",
        "victoriametrics",
        "victoria-metrics",
        "victoria-metrics",
        "/health",
    ),
    "loki": ("Loki", "loki", "loki", "", "", "/ready"),
    "tempo": ("Tempo", "tempo", "tempo", "", "", "/ready"),
    "otelcol": ("OpenTelemetry Collector", "otelcol", "otelcol", "", "", "/"),
    "grafana": ("Grafana", "grafana", "grafana", "", "", "/api/health"),
}

# Names of executables inside each release archive, relative to the extracted directory.
ARCHIVE_BINARIES: dict[str, dict[str, str]] = {
    "node_exporter": {"node_exporter": "node_exporter"},
    "prometheus": {"prometheus": "prometheus", "promtool": "promtool"},
    "alertmanager": {"alertmanager": "alertmanager", "amtool": "amtool"},
    "victoriametrics": {"victoriametrics": "victoria-metrics-prod"},
    "loki": {"loki": "loki-linux-{arch}"},
    "tempo": {"tempo": "tempo"},
    "otelcol": {"otelcol": "{distribution}"},
    "grafana": {"grafana": "bin/grafana"},
}

PACKAGE_BINARIES: dict[str, dict[str, str]] = {
    "node_exporter": {"node_exporter": "/usr/bin/prometheus-node-exporter"},
    "prometheus": {"prometheus": "/usr/bin/prometheus", "promtool": "/usr/bin/promtool"},
    "alertmanager": {"alertmanager": "/usr/bin/prometheus-alertmanager", "amtool": "/usr/bin/amtool"},
    "victoriametrics": {"victoriametrics": "/usr/bin/victoria-metrics"},
}


def debian_package(component: str) -> str:
    return _SPECS[component][3]


def human_name(component: str) -> str:
    return _SPECS[component][0]


def install_root(settings: StackSettings, component: str) -> str:
    """The versioned directory an archive is extracted into."""
    return f"{settings.install_dir}/{component}/{settings.install[component].version}"


def layout_for(settings: StackSettings, component: str) -> Layout:
    human, user, service, _package, package_service, ready = _SPECS[component]
    install = settings.install[component]
    if install.method == "package":
        binaries = dict(PACKAGE_BINARIES[component])
        service = package_service
    else:
        root = install_root(settings, component)
        binaries = {
            name: f"{root}/{path.format(arch=settings.arch, distribution=settings.otelcol_distribution)}"
            for name, path in ARCHIVE_BINARIES[component].items()
        }
    return Layout(
        component=component,
        human_name=human,
        user=user,
        service=service,
        config_dir=f"/etc/{component}",
        data_dir=f"/var/lib/{component}",
        binaries=binaries,
        ready_path=ready,
    )
