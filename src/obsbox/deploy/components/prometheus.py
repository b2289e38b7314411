"""Prometheus: scrapes the stack and the inventory's services, evaluates alert_rules/."""

from __future__ import annotations

from pyinfra.api import deploy

from obsbox.deploy.components._apply import deploy_component
from obsbox.deploy.context import current_settings
from obsbox.deploy.settings import StackSettings


@deploy("Prometheus")
def deploy_prometheus(settings: StackSettings | None = None) -> None:
    deploy_component(settings or current_settings(), "prometheus")
