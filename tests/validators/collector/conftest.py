"""The pinned collector build (otelcol-obsbox) and a helper running `otelcol validate` on a config."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def otelcol(pinned_tool: Callable[[str], str]) -> str:
    """obsbox's collector distribution at the pinned collector version."""
    return pinned_tool("otelcol")


@pytest.fixture
def otelcol_validate(otelcol: str, tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """otelcol_validate(config text) -> the finished `otelcol-obsbox validate --config=FILE`."""
    counter = iter(range(1_000_000))

    def validate(config: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / f"config-{next(counter)}.yaml"
        path.write_text(config)
        return subprocess.run(
            [otelcol, "validate", f"--config={path}"], capture_output=True, text=True, timeout=60, check=False
        )

    return validate
