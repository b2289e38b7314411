"""Validate-and-swap run for real by pyinfra on @local with promtool: a bad rules file never goes live."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """groups:
  - name: g
    rules:
      - alert: Up
        expr: up == 0
"""
BROKEN = """groups:
  - name: g
    rules:
      - alert: Up
        expr: up === 0
"""

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")


def _swap(tmp_path: Path, content: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "source.rules.yaml"
    source.write_text(content)
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        "@local",
        str(Path(__file__).with_name("swap_deploy.py")),
        "-y",
        "--data",
        f"swap_live={tmp_path / 'live' / 'stack.rules.yaml'}",
        "--data",
        f"swap_source={source}",
        "--data",
        f"swap_staging={tmp_path / 'live' / '.obsbox-staging'}",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    return subprocess.CompletedProcess(argv, result.returncode, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr), "")


@pytest.fixture
def live(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "stack.rules.yaml"
    path.parent.mkdir()
    path.write_text(GOOD)
    return path


def test_deploy_swap_broken_rules_fail_with_promtool_message(tmp_path: Path, live: Path) -> None:
    """A broken rules file fails the deploy with promtool's parse error and the live file stays."""
    result = _swap(tmp_path, BROKEN)
    assert result.returncode != 0
    assert "parse error" in result.stdout
    assert live.read_text() == GOOD


def test_deploy_swap_good_rules_replace_live_file(tmp_path: Path, live: Path) -> None:
    """A valid new rules file replaces the live one with the managed owner and mode."""
    new = GOOD.replace("up == 0", "up == 0 and on() vector(1)")
    result = _swap(tmp_path, new)
    assert result.returncode == 0, result.stdout
    assert live.read_text() == new
    assert oct(live.stat().st_mode & 0o777) == "0o640"


def test_deploy_swap_second_run_plans_no_swap(tmp_path: Path, live: Path) -> None:
    """Once the live file matches, a re-run stages, checks and installs nothing."""
    new = GOOD.replace("Up", "UpAgain")
    assert _swap(tmp_path, new).returncode == 0
    mtime = live.stat().st_mtime_ns
    again = _swap(tmp_path, new)
    assert again.returncode == 0
    assert "Install the checked" not in again.stdout and "with promtool" not in again.stdout
    assert live.stat().st_mtime_ns == mtime


def test_deploy_swap_retries_failed_config_on_next_run(tmp_path: Path, live: Path) -> None:
    """A config that failed its check is checked again on the next run, not silently skipped."""
    assert _swap(tmp_path, BROKEN).returncode != 0
    again = _swap(tmp_path, BROKEN)
    assert again.returncode != 0
    assert "parse error" in again.stdout
