"""deploy_stack(): every component enabled for the current host, in dependency order."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy

from obsbox.deploy.operations.components import DEPLOYS
from obsbox.deploy.operations.context import current_settings
from obsbox.deploy.settings import StackSettings

# Backends before what sends to them: the long-term store before the Prometheus replicas that
# remote-write to it; Prometheus's promtool validates Alertmanager's and node_exporter's web
# configs, the collector exports to Loki and Tempo, Grafana reads all of them.
ORDER = tuple(
    (component, DEPLOYS[component])
    for component in (
        "victoriametrics",
        "prometheus",
        "alertmanager",
        "node_exporter",
        "loki",
        "tempo",
        "otelcol",
        "grafana",
    )
)


@deploy("obsbox stack")
def deploy_stack(settings: StackSettings | None = None) -> None:
    """Deploy every component whose <component>_enabled is true for this host."""
    settings = settings or current_settings()
    # host.loop: pyinfra orders operations by call-stack line numbers (not files), so without the
    # loop position one host's Prometheus operations and another's VictoriaMetrics operations at
    # the same lines look like one operation, and a multi-host run fails with a cycle in the
    # operation DAG. Every host walks the whole ORDER, so positions agree across hosts.
    for component, deploy_component in host.loop(ORDER):
        if settings.enabled(component):
            deploy_component(settings=settings)
