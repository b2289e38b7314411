"""Rendered alertmanager.yml on disk, and amtool at the pinned Alertmanager version."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.render.alertmanager import AlertmanagerSettings, render_alertmanager_config


@pytest.fixture(scope="module")
def amtool(pinned_tool: Callable[[str], str]) -> str:
    """obsbox's build of amtool at the pinned Alertmanager version (not Debian's 0.25)."""
    return pinned_tool("amtool")


@pytest.fixture(scope="module")
def am_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    path.write_text(
        render_alertmanager_config(AlertmanagerSettings(watchdog_webhook_url="http://127.0.0.1:9/hb"))
    )
    return path


@pytest.fixture(scope="module")
def route_of(amtool: str, am_config_file: Path) -> Callable[..., str]:
    """The receiver(s) `amtool config routes test` says an alert with these labels goes to."""

    def run(*labels: str) -> str:
        out = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={am_config_file}", *labels],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return out.stdout.strip()

    return run
