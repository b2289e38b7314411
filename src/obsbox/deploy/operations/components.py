"""``deploy_<component>()`` for each component: one pyinfra deploy per row of the table."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.api.operation import PyinfraOperation

from obsbox.deploy.operations.apply import deploy_component
from obsbox.deploy.operations.context import current_settings
from obsbox.deploy.settings import StackSettings

# What pyinfra prints for each component's deploy.
TITLES = {
    "node_exporter": "Node Exporter",
    "prometheus": "Prometheus",
    "alertmanager": "Alertmanager",
    "victoriametrics": "VictoriaMetrics",
    "loki": "Loki",
    "tempo": "Tempo",
    "otelcol": "OpenTelemetry Collector",
    "grafana": "Grafana",
}

ComponentDeploy = PyinfraOperation[...]


def _component_deploy(component: str) -> ComponentDeploy:
    def run(settings: StackSettings | None = None) -> None:
        deploy_component(settings or current_settings(), component)

    run.__name__ = run.__qualname__ = f"deploy_{component}"
    run.__doc__ = f"Deploy {TITLES[component]} on the current host (nothing when it is disabled there)."
    return deploy(TITLES[component])(run)


DEPLOYS: dict[str, ComponentDeploy] = {component: _component_deploy(component) for component in TITLES}

deploy_node_exporter = DEPLOYS["node_exporter"]
deploy_prometheus = DEPLOYS["prometheus"]
deploy_alertmanager = DEPLOYS["alertmanager"]
deploy_victoriametrics = DEPLOYS["victoriametrics"]
deploy_loki = DEPLOYS["loki"]
deploy_tempo = DEPLOYS["tempo"]
deploy_otelcol = DEPLOYS["otelcol"]
deploy_grafana = DEPLOYS["grafana"]
