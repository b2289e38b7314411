"""The gate: the shipped rules replayed on the shipped corpus catch every incident and page on no noise,
on each engine version (the deploy's pinned Prometheus 3.x and Debian's 2.42)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engines import ENGINE_IDS, ENGINE_NAMES, resolve_engine

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
INCIDENTS = RULES_DIR / "incidents"


@pytest.fixture(scope="module", params=ENGINE_NAMES, ids=ENGINE_IDS)
def gate_report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `obsbox replay --prometheus X` once per engine version on the shipped rules and corpus;
    the JSON report and exit status."""
    engine = resolve_engine(request.param)
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
            "--prometheus",
            engine.prometheus,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return {
        "engine": engine.version,
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
