"""Fixtures of the dashboard unit tests: every dashboard built once per session."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards import build_all


@pytest.fixture(scope="session")
def models() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model by uid."""
    return build_all()
