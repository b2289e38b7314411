"""Progress off a terminal: nothing for a quick run, then a line per stage and per 10%."""

from __future__ import annotations

import pytest

from obsbox.commands import _progress
from obsbox.commands._progress import LineProgress


def test_quiet_first_then_one_line_per_stage_and_tenth(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    now = [100.0]
    monkeypatch.setattr(_progress.time, "monotonic", lambda: now[0])
    progress = LineProgress("replay", quiet_s=10)
    progress("backfill", 0.1)  # within the quiet time: nothing
    now[0] = 112.0
    for fraction in (0.2, 0.25, 0.31, 0.35, 0.45):
        progress("evaluate", fraction)
    progress("done", 1.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "replay: evaluate 20% (12s)",
        "replay: evaluate 31% (12s)",
        "replay: evaluate 45% (12s)",
        "replay: done 100% (12s)",
    ]
