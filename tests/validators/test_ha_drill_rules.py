"""The HA fault tests' drill rules pass the pinned promtool, as the deploy requires of every rule file."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from obsbox.hosts.ha_cluster import DRILLS, drill_rules


def test_drill_rules_pass_promtool(pinned_tool: Callable[[str], str], tmp_path: Path) -> None:
    rules = tmp_path / "ha-drill.rules.yaml"
    rules.write_text(drill_rules())
    proc = subprocess.run([pinned_tool("promtool"), "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(DRILLS)} rules found" in proc.stdout
