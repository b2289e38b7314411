"""OpenTelemetry Collector (contrib): the services' single OTLP endpoint."""

from __future__ import annotations

from pyinfra.api import deploy

from obsbox.deploy.components._apply import deploy_component
from obsbox.deploy.context import current_settings
from obsbox.deploy.settings import StackSettings


@deploy("OpenTelemetry Collector")
def deploy_otelcol(settings: StackSettings | None = None) -> None:
    deploy_component(settings or current_settings(), "otelcol")
