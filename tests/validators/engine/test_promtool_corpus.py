"""Differential check on the recorded corpus: every incident's replay, exported, passes promtool."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from functools import reduce
from pathlib import Path

from obsbox.promtool.export import ExportCase, export_promtool
from obsbox.replay.engine import Case, evaluate_many
from obsbox.replay.recording import Recording, load_corpus

REPO = Path(__file__).resolve().parents[3]
INCIDENTS = REPO / "alert_rules" / "incidents"
RULES = sorted((REPO / "alert_rules").glob("*.rules.yaml"))
# promtool's own evaluation is what costs here (each exported group re-evaluates every rule at
# every step from t=0): recordings longer than this, or scraped on a sub-second grid (which
# promtool's notation must spell sample by sample), are left to the engine's other tests.
MAX_RECORDING_MS = 8 * 3600_000
MIN_GRID_MS = 1000
MAX_RECORDINGS = 12  # the shortest ones: keeps this test near half a minute


def _cheap_for_promtool(recording: Recording) -> bool:
    stamps = (t - recording.start_ms for s in recording.series for t in s.timestamps_ms)
    grid = reduce(math.gcd, stamps, 0)
    return recording.end_ms - recording.start_ms <= MAX_RECORDING_MS and (grid == 0 or grid >= MIN_GRID_MS)


def test_promtool_agrees_on_every_corpus_recording(
    tmp_path: Path, promtool_test: Callable[[Path], subprocess.CompletedProcess[str]]
) -> None:
    """The corpus' recordings replayed through all rule files in one Prometheus, exported, pass promtool."""
    assert INCIDENTS.is_dir() and RULES, "the shipped corpus (alert_rules/incidents) or rule files are missing"
    cheap = sorted((r for r in load_corpus(INCIDENTS) if _cheap_for_promtool(r)), key=lambda r: (r.end_ms - r.start_ms, r.name))
    recordings = cheap[:MAX_RECORDINGS]
    assert len(recordings) >= 5
    evaluations = evaluate_many(RULES, [Case(r.series, r.start_ms, r.end_ms) for r in recordings])
    out = tmp_path / "corpus.test.yaml"
    export_promtool(RULES, [ExportCase(e, r.series, r.name) for e, r in zip(evaluations, recordings)], out)
    result = promtool_test(out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(1 for e in evaluations for rule in e.rules for a in rule.alerts if a.firing_intervals(e.timestamps_for(rule))) > 0
