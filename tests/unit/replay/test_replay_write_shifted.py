"""The streaming copy that moves a recording in time: timestamps moved exactly, nothing else."""

from __future__ import annotations

from pathlib import Path

from obsbox.replay.openmetrics import read_series
from obsbox.replay.tsdb import write_shifted


def test_write_shifted_moves_every_timestamp_and_keeps_labels_and_values(tmp_path: Path) -> None:
    """Labels holding spaces and braces, float seconds and comment lines survive the copy."""
    source = tmp_path / "in.om"
    source.write_text(
        "# TYPE x counter\n"
        'x_total{route="/a b/{id}",code="200"} 1 1795000000\n'
        'x_total{route="/a b/{id}",code="200"} 2.5 1795000015.5\n'
        "y 7 1795000000\n"
        "# EOF\n"
    )
    target = tmp_path / "out.om"
    assert write_shifted(source, target, 3_600_250) == 3
    before = {s.labels["__name__"] + str(sorted(s.labels.items())): s for s in read_series(source)}
    after = {s.labels["__name__"] + str(sorted(s.labels.items())): s for s in read_series(target)}
    assert before.keys() == after.keys()
    for key, s in before.items():
        assert list(after[key].values) == list(s.values)
        assert list(after[key].timestamps_ms) == [t + 3_600_250 for t in s.timestamps_ms]
    assert target.read_text().endswith("# EOF\n")
