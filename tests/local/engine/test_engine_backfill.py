"""Backfill with promtool: the traps of its OpenMetrics importer are avoided, not hit."""

from __future__ import annotations

from pathlib import Path

from obsbox.replay.model import Series
from obsbox.replay.tsdb import backfill, prepare

DAY_MS = 86_400_000


def test_eighty_days_backfill_into_few_blocks(tmp_path: Path) -> None:
    """80 days of samples become a handful of blocks (--max-block-duration), not hundreds of 2h blocks."""
    data, work = tmp_path / "data", tmp_path / "work"
    data.mkdir()
    work.mkdir()
    stamps = list(range(0, 80 * DAY_MS, 15 * 60_000))
    count = backfill([(prepare([Series({"__name__": "x"}, stamps, [1.0] * len(stamps))]), 1_600_000_000_000)], data, work)
    blocks = [p for p in data.iterdir() if (p / "meta.json").exists()]
    assert count == len(stamps)
    assert 1 <= len(blocks) <= 10


def test_exact_duplicates_are_dropped_and_order_restored() -> None:
    """Exact duplicate samples collapse to one and unsorted samples are sorted before backfill."""
    (series,) = prepare([Series({"__name__": "x"}, [60_000, 0, 60_000], [2.0, 1.0, 2.0])])
    assert list(series.timestamps_ms) == [0, 60_000] and list(series.values) == [1.0, 2.0]
