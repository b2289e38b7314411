"""node_exporter: host metrics for every host of the stack."""

from __future__ import annotations

from pyinfra.api import deploy

from obsbox.deploy.components._apply import deploy_component
from obsbox.deploy.context import current_settings
from obsbox.deploy.settings import StackSettings


@deploy("Node Exporter")
def deploy_node_exporter(settings: StackSettings | None = None) -> None:
    deploy_component(settings or current_settings(), "node_exporter")
