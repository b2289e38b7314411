"""Backfilling series into a TSDB directory with ``promtool tsdb create-blocks-from openmetrics``.

promtool's backfiller silently drops unsorted and duplicate samples and reads millisecond
timestamps as seconds, all with exit status 0; so series are sorted, de-duplicated and checked
here first, and written with timestamps in seconds by ``openmetrics.iter_lines``. Series holding
staleness markers cannot go this way (OpenMetrics has no staleness marker): ``split_stale``
separates them so the engine writes them through Prometheus' remote-write receiver instead.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from obsbox.replay.model import Series, is_stale
from obsbox.replay.openmetrics import format_series_name, iter_lines, normalise
from obsbox.replay.prometheus import find_binary

# Without it promtool cuts 80 days into 1,118 two-hour blocks (26 s); with it, 6 blocks (0.4 s).
MAX_BLOCK_DURATION = "720h"
# promtool rounds the flag down to 2h*3^k and reads the whole input once per block; for spans of
# years (promtool tests reach 2262) the largest block it makes (39366h, 4.5 years) keeps that fast.
LONG_SPAN_MS = 365 * 86400_000
MAX_BLOCK_DURATION_LONG_SPAN = "39366h"
# Beyond the year 5000 read as seconds: the caller passed seconds (or microseconds) as milliseconds.
MAX_PLAUSIBLE_MS = 1e14


_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class BackfillError(RuntimeError):
    """The series cannot be backfilled, or promtool failed to."""


def prepare(series: Sequence[Series]) -> list[Series]:
    """Series sorted in time, exact duplicates dropped; refuses conflicting duplicates and bad times."""
    try:
        cleaned = normalise(series)
    except ValueError as exc:
        raise BackfillError(str(exc)) from None
    for s in cleaned:
        for ts in s.timestamps_ms:
            if ts < 0 or ts > MAX_PLAUSIBLE_MS:
                raise BackfillError(
                    f"{format_series_name(s.labels)}: timestamp {ts} ms is not a plausible time in milliseconds"
                )
        if not _METRIC_NAME.match(s.labels.get("__name__", "")):
            raise BackfillError(f"{format_series_name(s.labels)}: not a valid metric name")
        for name in s.labels:
            if not _LABEL_NAME.match(name):
                raise BackfillError(f"{format_series_name(s.labels)}: {name!r} is not a valid label name")
    return [s for s in cleaned if s.timestamps_ms]


def split_stale(series: Sequence[Series]) -> tuple[list[Series], list[Series]]:
    """(series without any staleness marker, series with one)."""
    plain: list[Series] = []
    with_markers: list[Series] = []
    for s in series:
        (with_markers if any(is_stale(v) for v in s.values) else plain).append(s)
    return plain, with_markers


def backfill(series_by_shift: Sequence[tuple[Sequence[Series], int]], data_dir: Path, work_dir: Path) -> int:
    """Write every (series, shift_ms) pair into one OpenMetrics file and create blocks in data_dir.

    Returns the number of samples written. Nothing to write is not an error (no call to promtool).
    """
    promtool = find_binary("promtool")
    if promtool is None:
        raise BackfillError("no promtool binary found (install Debian's prometheus package)")
    source = work_dir / "backfill.om"
    count = 0
    first = last = 0
    with open(source, "w", encoding="utf-8") as handle:
        for series, shift in series_by_shift:
            for s in series:
                if s.timestamps_ms:
                    first = min(first, s.timestamps_ms[0] + shift) if count else s.timestamps_ms[0] + shift
                    last = max(last, s.timestamps_ms[-1] + shift)
            for line in iter_lines(series, shift_ms=shift):
                if line != "# EOF\n":
                    handle.write(line)
                    count += 1
        handle.write("# EOF\n")
    if count == 0:
        return 0
    block = MAX_BLOCK_DURATION if last - first <= LONG_SPAN_MS else MAX_BLOCK_DURATION_LONG_SPAN
    proc = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", f"--max-block-duration={block}", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        # promtool keeps its temporary head in $TMPDIR; when it is interrupted (Ctrl-C reaches the
        # whole process group) that directory would stay behind, so it goes in our work directory.
        env={**os.environ, "TMPDIR": str(work_dir)},
    )
    if proc.returncode != 0:
        message = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise BackfillError(f"promtool tsdb create-blocks-from failed: {message[-1] if message else proc.returncode}")
    return count
