"""Fixtures for the deploy's pure tests: checked settings from inventory data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from obsbox.deploy.settings import StackSettings, settings_from_host_data


@pytest.fixture
def make_settings() -> Callable[..., StackSettings]:
    """Settings from inventory data given as keyword arguments (everything else defaulted)."""

    def make(**data: Any) -> StackSettings:
        return settings_from_host_data(data)

    return make
