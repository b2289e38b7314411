"""A NAB file imported with expectations derived from its labelled windows replays meaningfully:
an alert firing an hour into a six-hour window is a catch, where a fixed "within 15m" is a miss."""

from __future__ import annotations

from pathlib import Path

from obsbox.importers.nab import NabOptions, import_nab_file
from obsbox.replay.runner import run_replay

NAB = Path(__file__).resolve().parents[2] / "fixtures" / "importers" / "nab"
# Hourly samples: the rule reads them through max_over_time, as the import's warning advises.
RULES = """groups:
- name: nab
  interval: 1m
  rules:
  - alert: AmbientHot
    expr: max_over_time(nab_value[1h]) > 74.5
    labels:
      severity: critical
"""


def _scores(tmp_path: Path, options: NabOptions) -> list[bool]:
    rules = tmp_path / "nab.rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    out = tmp_path / f"within-{options.within}"
    import_nab_file(NAB / "ambient_temperature_system_failure.csv", NAB / "windows.json", out, options)
    report = run_replay([rules], out)
    return [w.caught for r in report.scores.recordings for w in r.windows]


def test_window_derived_expectation_catches_what_a_fixed_15m_misses(tmp_path: Path) -> None:
    """Window 2 (14:00-20:00, the alert fires at 15:00) is caught when the alert may fire anywhere
    inside the window, and missed with --within 15m; window 1 (no hot sample) is missed both ways."""
    assert _scores(tmp_path, NabOptions()) == [False, True]
    assert _scores(tmp_path, NabOptions(within="15m")) == [False, False]
