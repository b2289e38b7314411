"""Backfilling series into a TSDB directory with ``promtool tsdb create-blocks-from openmetrics``.

promtool's backfiller silently drops unsorted and duplicate samples and reads millisecond
timestamps as seconds, all with exit status 0; so series are sorted, de-duplicated and checked
here first, and written with timestamps in seconds by ``openmetrics.iter_lines``. Series holding
staleness markers cannot go this way (OpenMetrics has no staleness marker): ``split_stale``
separates them so the engine writes them through Prometheus' remote-write receiver instead.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
# A timestamp above 1e11 seconds is after the year 5000: milliseconds read as seconds.
MAX_PLAUSIBLE_SECONDS_MS = 1e11 * 1000
SCAN_CHUNK_BYTES = 1 << 24


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


@dataclass(frozen=True)
class Blocks:
    """What promtool made of one input: the samples it stored and their time range (ms)."""

    samples: int
    min_ms: int
    max_ms: int  # the last sample's timestamp (a block's meta.json maxTime is one past it)


def _block_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if (p / "meta.json").is_file())


def read_blocks(directory: Path) -> Blocks | None:
    """Sum of ``stats.numSamples`` and the time range over the blocks in a directory; None if none."""
    samples = 0
    low: int | None = None
    high: int | None = None
    for block in _block_dirs(directory):
        meta = json.loads((block / "meta.json").read_text(encoding="utf-8"))
        samples += int(meta.get("stats", {}).get("numSamples", 0))
        low = int(meta["minTime"]) if low is None else min(low, int(meta["minTime"]))
        high = int(meta["maxTime"]) - 1 if high is None else max(high, int(meta["maxTime"]) - 1)
    if low is None or high is None:
        return None
    return Blocks(samples, low, high)


def move_blocks(source: Path, data_dir: Path) -> None:
    """Move the blocks promtool wrote to ``source`` into the TSDB directory (a rename each)."""
    for block in _block_dirs(source):
        os.replace(block, data_dir / block.name)


def sample_lines(path: Path) -> int | None:
    """The number of sample lines (lines not starting with '#') in an OpenMetrics file, by a scan
    of its bytes; None when the file is visibly not clean input for the backfiller (empty, a
    blank line, a carriage return, or not ending with '# EOF'), so that the strict reader
    explains what is wrong."""
    lines = comments = 0
    previous = b"\n"  # the byte before the chunk: a line starts at the beginning of the file
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(SCAN_CHUNK_BYTES):
            joined = previous + chunk
            if b"\n\n" in joined or b"\r" in chunk:
                return None
            lines += chunk.count(b"\n")
            comments += joined.count(b"\n#")
            previous = chunk[-1:]
            tail = (tail + chunk)[-7:]
    if tail[-6:] != b"# EOF\n" or (len(tail) == 7 and tail[0:1] != b"\n"):
        return None
    return lines - comments


def mentions_metric(path: Path, names: Iterable[str]) -> bool:
    """Whether a sample line of the OpenMetrics file may belong to one of these metric names
    (a line starting with the name followed by '{' or white space); cheap on big files."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for name in names:
                raw = name.encode()
                if data[: len(raw)] == raw and data[len(raw) : len(raw) + 1] in (b"{", b" ", b"\t"):
                    return True
                needle = b"\n" + raw
                at = data.find(needle)
                while at >= 0:
                    if data[at + len(needle) : at + len(needle) + 1] in (b"{", b" ", b"\t"):
                        return True
                    at = data.find(needle, at + 1)
    return False


def _block_duration(first_ms: int, last_ms: int) -> str:
    return MAX_BLOCK_DURATION if last_ms - first_ms <= LONG_SPAN_MS else MAX_BLOCK_DURATION_LONG_SPAN


def start_backfill(source: Path, out_dir: Path, work_dir: Path, *, block: str | None = None) -> subprocess.Popen[str]:
    """Start ``promtool tsdb create-blocks-from openmetrics`` on a file, writing blocks to out_dir."""
    promtool = find_binary("promtool")
    if promtool is None:
        raise BackfillError("no promtool binary found (install Debian's prometheus package)")
    return subprocess.Popen(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={block or MAX_BLOCK_DURATION}",
            str(source),
            str(out_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        # promtool keeps its temporary head in $TMPDIR; when it is interrupted (Ctrl-C reaches the
        # whole process group) that directory would stay behind, so it goes in our work directory.
        env={**os.environ, "TMPDIR": str(work_dir)},
    )


def finish_backfill(proc: subprocess.Popen[str]) -> str | None:
    """Wait for a backfill started by ``start_backfill``: None on success, else promtool's message."""
    try:
        stdout, stderr = proc.communicate(timeout=1800)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode == 0:
        return None
    message = (stderr.strip() or stdout.strip()).splitlines()
    return f"promtool tsdb create-blocks-from failed: {message[-1] if message else proc.returncode}"


@dataclass
class FileBackfill:
    """A recording's OpenMetrics file backfilled as it is, checked by promtool's own accounting.

    promtool drops unsorted and duplicate samples silently and reads millisecond timestamps as
    seconds; so the samples it stored must equal the file's sample lines, and the time range must
    be plausible. ``ok`` is False otherwise (or when promtool failed): the caller then reads the
    file with the strict reader, which names the offending line.
    """

    path: Path
    out_dir: Path
    proc: subprocess.Popen[str] | None = None
    blocks: Blocks | None = None
    error: str | None = None

    def start(self, work_dir: Path) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.proc = start_backfill(self.path, self.out_dir, work_dir)

    def finish(self) -> bool:
        """Wait for promtool and check its accounting; True when the blocks hold the file exactly."""
        assert self.proc is not None
        lines = sample_lines(self.path)  # while promtool runs
        self.error = finish_backfill(self.proc)
        if self.error is not None or not lines:
            return False
        self.blocks = read_blocks(self.out_dir)
        b = self.blocks
        return b is not None and b.samples == lines and b.min_ms >= 0 and b.max_ms <= MAX_PLAUSIBLE_SECONDS_MS

    def discard(self) -> None:
        shutil.rmtree(self.out_dir, ignore_errors=True)

    def cancel(self) -> None:
        """Stop promtool if it still runs and remove what it wrote."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.discard()


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
    error = finish_backfill(start_backfill(source, data_dir, work_dir, block=_block_duration(first, last)))
    if error is not None:
        raise BackfillError(error)
    return count
