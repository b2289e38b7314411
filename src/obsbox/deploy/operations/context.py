"""The current host's checked settings (the one place pyinfra's host.data is read)."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api.exceptions import InventoryError

from obsbox.deploy.settings import StackSettings, grafana_pins_missing, settings_from_host_data


class HostDataError(InventoryError, ValueError):
    """Bad inventory data of one host. A pyinfra error, so pyinfra prints it as one line, not a traceback."""


def current_settings() -> StackSettings:
    """Settings for the host pyinfra is planning, from its inventory/group data.

    Every refusal names the key and is raised before any operation is planned.
    """
    try:
        settings = settings_from_host_data(host.data.dict(), host_name=host.name)
        missing = grafana_pins_missing(settings)
        if missing:
            raise ValueError(missing)
    except ValueError as error:
        raise HostDataError(f"inventory data of host {host.name}: {error}") from None
    return settings
