"""The gate: the shipped rules replayed on the shipped corpus catch every incident and page on no noise,
on each engine version (the deploy's pinned Prometheus 3.x and Debian's 2.42)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.engines import ENGINE_IDS, ENGINE_NAMES, resolve_engine

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
INCIDENTS = RULES_DIR / "incidents"


_RUNS: dict[str, dict[str, Any]] = {}


def _gate_run(name: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`obsbox replay --prometheus X` on the shipped rules and corpus, once per engine version:
    the JSON report and exit status."""
    if name in _RUNS:
        return _RUNS[name]
    engine = resolve_engine(name)
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
    _RUNS[name] = {
        "engine": engine.version,
        "returncode": proc.returncode,
        "output": proc.stdout[-4000:] + proc.stderr[-4000:],
        "report": report,
    }
    return _RUNS[name]


@pytest.fixture(scope="module", params=ENGINE_NAMES, ids=ENGINE_IDS)
def gate_report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The gate's replay on each engine version (the deploy's pinned 3.x, Debian's 2.42)."""
    return _gate_run(request.param, tmp_path_factory)


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


def test_rules_gate_verdicts_are_the_same_on_both_versions(tmp_path_factory: pytest.TempPathFactory) -> None:
    """2.42 and 3.x give the same verdicts on the corpus; episodes may start or end one evaluation
    apart, never more.

    Range selectors and the lookback window are left-open in 3.x (a sample exactly a range or 5
    minutes old no longer counts), so an alert whose expression crosses its threshold at a sample
    boundary changes state one 1m evaluation earlier or later: detection and reset times move by
    60 s, which recordings pass and which windows are caught do not.
    """
    pinned, debian = (_gate_run(name, tmp_path_factory)["report"] for name in ENGINE_NAMES)
    keys = ("passed", "recall", "precision", "noise_pages", "windows", "caught", "episodes", "relevant_episodes")
    assert {k: pinned["summary"][k] for k in keys} == {k: debian["summary"][k] for k in keys}
    for ours, theirs in zip(pinned["recordings"], debian["recordings"], strict=True):
        assert (ours["name"], ours["passed"]) == (theirs["name"], theirs["passed"])
        assert len(ours["episodes"]) == len(theirs["episodes"]), ours["name"]
        for a, b in zip(ours["episodes"], theirs["episodes"]):
            assert a["alert"] == b["alert"], ours["name"]
            for edge in ("start", "end"):
                gap = abs(_epoch(a[edge]) - _epoch(b[edge]))
                assert gap <= 60, f"{ours['name']} {a['alert']} {edge}: {a[edge]} on 3.x, {b[edge]} on 2.42"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
