"""Fixtures for the deploy's pure tests: checked settings from inventory data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from obsbox.deploy.settings import StackSettings, settings_from_host_data
from tests.conftest import INVENTORY_SECRETS

# Every receiver routed somewhere: the deploy refuses an Alertmanager that notifies nobody.
ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


@pytest.fixture(autouse=True)
def _inventory_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in INVENTORY_SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def make_settings() -> Callable[..., StackSettings]:
    """Settings from inventory data given as keyword arguments (receivers routed, everything else defaulted)."""

    def make(**data: Any) -> StackSettings:
        return settings_from_host_data({**ROUTED, **data})

    return make
