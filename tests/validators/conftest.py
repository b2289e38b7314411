"""Fixtures shared by the validator tests (real upstream tools at the deploy's pinned versions)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def promtool(pinned_tool: Callable[[str], str]) -> str:
    """obsbox's build of promtool at the pinned Prometheus version (the one the deploy installs)."""
    return pinned_tool("promtool")
