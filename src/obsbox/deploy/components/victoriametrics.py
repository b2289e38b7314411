"""VictoriaMetrics: the long-term store the Prometheus replicas remote-write to (HA layout)."""

from __future__ import annotations

from pyinfra.api import deploy

from obsbox.deploy.components._apply import deploy_component
from obsbox.deploy.context import current_settings
from obsbox.deploy.settings import StackSettings


@deploy("VictoriaMetrics")
def deploy_victoriametrics(settings: StackSettings | None = None) -> None:
    deploy_component(settings or current_settings(), "victoriametrics")
