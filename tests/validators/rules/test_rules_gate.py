"""The gate: the shipped rules replayed on the shipped corpus catch every incident and page on no noise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
INCIDENTS = RULES_DIR / "incidents"


@pytest.fixture(scope="module")
def gate_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `obsbox replay` once on the shipped rules and corpus; the JSON report and exit status."""
    for binary in ("promtool", "prometheus"):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed (Debian package prometheus); the replay needs it")
    out = tmp_path_factory.mktemp("gate") / "report.json"
    rules = [arg for f in sorted(RULES_DIR.glob("*.rules.yaml")) for arg in ("--rules", str(f))]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "obsbox.cli",
            "replay",
            *rules,
            "--incidents",
            str(INCIDENTS),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return {
        "returncode": proc.returncode,
        "output": proc.stdout[-4000:] + proc.stderr[-4000:],
        "report": report,
    }


def test_rules_gate_replay_passes(gate_report: dict[str, Any]) -> None:
    """`obsbox replay` exits 0: every manifest's expectations hold."""
    assert gate_report["returncode"] == 0, gate_report["output"]


def test_rules_gate_catches_every_incident(gate_report: dict[str, Any]) -> None:
    """Recall is 1.0 over at least 12 incident windows."""
    summary = gate_report["report"]["summary"]
    assert summary["windows"] >= 12 and summary["recall"] == 1.0, summary.get("failures")


def test_rules_gate_pages_on_no_noise(gate_report: dict[str, Any]) -> None:
    """No page-severity alert fires on any of the (at least 12) noise recordings."""
    report = gate_report["report"]
    noise = [r for r in report["recordings"] if r["kind"] == "noise"]
    assert len(noise) >= 12
    assert report["summary"]["noise_pages"] == 0, report["summary"].get("failures")
