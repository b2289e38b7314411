"""The rendered alertmanager.yml passes amtool and routes as the severity convention says."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path


def test_alertmanager_config_passes_amtool_check(amtool: str, am_config_file: Path) -> None:
    """amtool check-config accepts the rendered config with its three inhibit rules."""
    out = subprocess.run(
        [amtool, "check-config", str(am_config_file)], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 inhibit rules" in out.stdout


def test_alertmanager_critical_routes_to_page(route_of: Callable[..., str]) -> None:
    """A critical alert goes to the page receiver."""
    assert route_of("alertname=SloAvailabilityBurnRateFast", "severity=critical", "job=demo") == "page"


def test_alertmanager_warning_routes_to_ticket(route_of: Callable[..., str]) -> None:
    """A warning alert goes to the ticket receiver."""
    assert route_of("alertname=JobFailureRatioHigh", "severity=warning") == "ticket"


def test_alertmanager_watchdog_routes_to_heartbeat(route_of: Callable[..., str]) -> None:
    """The Watchdog goes to the heartbeat receiver, not to the page receiver, whatever its severity."""
    assert route_of("alertname=Watchdog", "severity=critical") == "watchdog"


def test_alertmanager_info_routes_to_null(route_of: Callable[..., str]) -> None:
    """An info alert notifies nobody."""
    assert route_of("alertname=Something", "severity=info") == "null"


def test_alertmanager_unknown_severity_routes_to_ticket(route_of: Callable[..., str]) -> None:
    """An alert without a known severity still reaches a human as a ticket."""
    assert route_of("alertname=Odd") == "ticket"


def test_alertmanager_amtool_is_the_pinned_build(amtool: str) -> None:
    """The amtool these checks run is obsbox's build and reports the deploy's pinned Alertmanager version."""
    from obsbox.binaries.catalog import pinned_versions
    from obsbox.binaries.locate import built

    out = subprocess.run([amtool, "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert amtool == str(built("amtool"))
    assert f"version {pinned_versions()['alertmanager']} " in out.stdout + out.stderr
