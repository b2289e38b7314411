"""The byte scans behind the replay's fast backfill: sample-line counts and metric-name search."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.replay import tsdb
from obsbox.replay.tsdb import mentions_metric, sample_lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('# HELP up x\n# TYPE up gauge\nup{a="1"} 1 100\nup{a="1"} 2 115 # {t="x"} 1\n# EOF\n', 2),
        ("up 1 100\n# EOF\n", 1),
        ("# EOF\n", 0),
        ("up 1 100\n\n# EOF\n", 2),  # a blank line counts: promtool stores nothing for it
        ("up 1 100\r\n# EOF\n", 1),
        ("up 1 100\n", None),  # no '# EOF'
        ("up 1 100\n# EOF", None),
        ("up 1 100\nx# EOF\n", None),
        ("", None),
    ],
)
def test_sample_lines_counts_or_steps_aside(tmp_path: Path, text: str, expected: int | None) -> None:
    """Lines not starting with '#' are counted; a file not ending in '# EOF' gives None."""
    path = tmp_path / "data.om"
    path.write_text(text, newline="")
    assert sample_lines(path) == expected


def test_sample_lines_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts do not depend on where the file is cut into chunks (comments at the seams)."""
    lines = [f"# c{i}\n" if i % 3 == 0 else f"up {i} {i}\n" for i in range(50)]
    path = tmp_path / "data.om"
    path.write_text("".join(lines) + "# EOF\n")
    expected = sum(not line.startswith("#") for line in lines)
    for chunk in (1, 2, 3, 7, 64):
        monkeypatch.setattr(tsdb, "SCAN_CHUNK_BYTES", chunk)
        assert sample_lines(path) == expected
    path.write_text("".join(lines[:10]) + "\n" + "".join(lines[10:]) + "# EOF\n")
    for chunk in (1, 2, 5):
        monkeypatch.setattr(tsdb, "SCAN_CHUNK_BYTES", chunk)
        assert sample_lines(path) == expected + 1  # the blank line


def test_mentions_metric_matches_whole_names_at_line_starts(tmp_path: Path) -> None:
    """A name counts only at the start of a line and followed by '{' or white space."""
    path = tmp_path / "data.om"
    path.write_text('ALERTS_X{a="b"} 1 1\nup{ALERTS="1"} 1 1\n# ALERTS\njob:rate5m 2 1\n# EOF\n')
    assert not mentions_metric(path, ["ALERTS", "job:rate"])
    assert mentions_metric(path, ["ALERTS_X"])
    assert mentions_metric(path, ["job:rate5m"])
    assert mentions_metric(path, ["nope", "ALERTS_X"])


def test_mentions_metric_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name cut by a chunk's end is still found, and a name at the file's very start too."""
    path = tmp_path / "data.om"
    path.write_text('up 1 1\nALERTS{a="b"} 1 1\n# EOF\n')
    for chunk in (1, 2, 3, 5, 8, 13, 64):
        monkeypatch.setattr(tsdb, "SCAN_CHUNK_BYTES", chunk)
        assert mentions_metric(path, ["ALERTS"])
        assert mentions_metric(path, ["up"])
        assert not mentions_metric(path, ["ALERT", "u", "EOF"])
    assert not mentions_metric(path, [])


def test_query_range_chunks_stay_on_the_grid_and_under_the_limit() -> None:
    """A week at one minute is one request; longer ranges are cut on the step grid, each chunk
    within Prometheus' 11,000-step limit, together covering every point once."""
    from obsbox.replay.prometheus import MAX_POINTS_PER_QUERY, chunk_range

    step = 60_000
    assert list(chunk_range(0, 10_079 * step, step)) == [(0, 10_079 * step)]
    chunks = list(chunk_range(7, 7 + 25_000 * step + 5, step))
    points = [t for a, b in chunks for t in range(a, b + 1, step)]
    assert points == list(range(7, 7 + 25_000 * step + 1, step))
    assert all((b - a) // step + 1 <= MAX_POINTS_PER_QUERY and (b - a) // step <= 11_000 for a, b in chunks)
