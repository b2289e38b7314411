"""promtool itself is the judge of the fixtures the replay tests rely on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool (Debian's prometheus package) is not installed")
def test_demo_rules_pass_promtool_check() -> None:
    """The demo rule file passes `promtool check rules`."""
    proc = subprocess.run([PROMTOOL, "check", "rules", str(FIXTURES / "rules" / "demo.rules.yaml")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool (Debian's prometheus package) is not installed")
def test_demo_promtool_test_passes_promtool() -> None:
    """The demo promtool test, which the importer test replays, passes `promtool test rules`."""
    proc = subprocess.run([PROMTOOL, "test", "rules", str(FIXTURES / "promtool" / "demo.test.yaml")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
