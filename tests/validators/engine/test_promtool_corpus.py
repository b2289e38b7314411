"""Differential check on the recorded corpus: every incident's replay, exported, passes promtool."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.promtool.export import ExportCase, export_promtool
from obsbox.replay.engine import Case, evaluate_many
from obsbox.replay.recording import load_corpus

REPO = Path(__file__).resolve().parents[3]
INCIDENTS = REPO / "alert_rules" / "incidents"
RULES = sorted((REPO / "alert_rules").glob("*.rules.yaml"))


@pytest.mark.skipif(not INCIDENTS.is_dir() or not RULES, reason="no recorded corpus in alert_rules/")
def test_promtool_agrees_on_every_corpus_recording(
    tmp_path: Path, promtool_test: Callable[[Path], subprocess.CompletedProcess[str]]
) -> None:
    """All recordings replayed through all rule files in one Prometheus, exported, pass promtool."""
    recordings = load_corpus(INCIDENTS)
    evaluations = evaluate_many(RULES, [Case(r.series, r.start_ms, r.end_ms) for r in recordings])
    out = tmp_path / "corpus.test.yaml"
    export_promtool(RULES, [ExportCase(e, r.series, r.name) for e, r in zip(evaluations, recordings)], out)
    result = promtool_test(out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(1 for e in evaluations for rule in e.rules for a in rule.alerts if a.firing_intervals(e.timestamps_for(rule))) > 0
