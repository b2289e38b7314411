"""The current host's checked settings (the one place pyinfra's host.data is read)."""

from __future__ import annotations

from pyinfra import host

from obsbox.deploy.settings import StackSettings, settings_from_host_data


def current_settings() -> StackSettings:
    """Settings for the host pyinfra is planning, from its inventory/group data."""
    try:
        return settings_from_host_data(host.data.dict())
    except ValueError as error:
        raise ValueError(f"inventory data of host {host.name}: {error}") from error
