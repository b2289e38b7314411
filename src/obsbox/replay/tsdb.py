"""Backfilling series into a TSDB directory with ``promtool tsdb create-blocks-from openmetrics``.

promtool's backfiller silently drops unsorted and duplicate samples and reads millisecond
timestamps as seconds, all with exit status 0; so series are sorted, de-duplicated and checked
here first, and written with timestamps in seconds by ``openmetrics.iter_lines``. Series holding
staleness markers cannot go this way (OpenMetrics has no staleness marker): ``split_stale``
separates them so the engine writes them through Prometheus' remote-write receiver instead.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from obsbox.replay.blockcache import BlockCache, key_of
from obsbox.replay.children import spawn
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
# A file at least this big is cut in two halves backfilled by two promtool runs at once.
SPLIT_MIN_BYTES = 64 << 20
# How far past the middle to look for a line where both the series and the timestamp change.
CUT_SCAN_BYTES = 8 << 20


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
    series: int = 0  # summed over blocks: a series in two blocks counts twice


def _block_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if (p / "meta.json").is_file())


def read_blocks(directory: Path) -> Blocks | None:
    """Sum of ``stats.numSamples`` and the time range over the blocks in a directory; None if none."""
    samples = series = 0
    low: int | None = None
    high: int | None = None
    for block in _block_dirs(directory):
        meta = json.loads((block / "meta.json").read_text(encoding="utf-8"))
        samples += int(meta.get("stats", {}).get("numSamples", 0))
        series += int(meta.get("stats", {}).get("numSeries", 0))
        low = int(meta["minTime"]) if low is None else min(low, int(meta["minTime"]))
        high = int(meta["maxTime"]) - 1 if high is None else max(high, int(meta["maxTime"]) - 1)
    if low is None or high is None:
        return None
    return Blocks(samples, low, high, series)


def move_blocks(source: Path, data_dir: Path) -> None:
    """Move the blocks promtool wrote to ``source`` into the TSDB directory (a rename each)."""
    for block in _block_dirs(source):
        os.replace(block, data_dir / block.name)


def sample_lines(path: Path) -> int | None:
    """The number of sample lines (lines not starting with '#') in an OpenMetrics file, by a scan
    of its bytes; None when the file does not end with a '# EOF' line (the strict reader then
    explains). A blank or malformed line counts as a sample line: promtool stores no sample for
    it (or fails), so the counts disagree and the strict reader names it too."""
    lines = comments = 0
    previous = b"\n"  # the byte before the chunk: a line starts at the beginning of the file
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(SCAN_CHUNK_BYTES):
            lines += chunk.count(b"\n")
            comments += (previous + chunk).count(b"\n#")
            previous = chunk[-1:]
            tail = (tail + chunk)[-7:]
    if tail[-6:] != b"# EOF\n" or (len(tail) == 7 and tail[0:1] != b"\n"):
        return None
    return lines - comments


def mentions_metric(path: Path, names: Iterable[str]) -> bool:
    """Whether a sample line of the OpenMetrics file may belong to one of these metric names
    (a line starting with the name followed by '{' or white space); cheap on big files."""
    needles = [b"\n" + name.encode() for name in names]
    if not needles:
        return False
    keep = max(len(n) for n in needles) + 1  # a match cut by a chunk's end is found again
    carry = b"\n"  # the file's start is a line start
    with open(path, "rb") as handle:
        while chunk := handle.read(SCAN_CHUNK_BYTES):
            data = carry + chunk
            for needle in needles:
                at = data.find(needle)
                while at >= 0:
                    if data[at + len(needle) : at + len(needle) + 1] in (b"{", b" ", b"\t"):
                        return True
                    at = data.find(needle, at + 1)
            carry = data[-keep:]
    return False


def _block_duration(first_ms: int, last_ms: int) -> str:
    return MAX_BLOCK_DURATION if last_ms - first_ms <= LONG_SPAN_MS else MAX_BLOCK_DURATION_LONG_SPAN


def start_backfill(source: Path, out_dir: Path, work_dir: Path, *, block: str | None = None) -> subprocess.Popen[str]:
    """Start ``promtool tsdb create-blocks-from openmetrics`` on a file, writing blocks to out_dir."""
    promtool = find_binary("promtool")
    if promtool is None:
        raise BackfillError("no promtool binary found (install Debian's prometheus package)")
    return spawn(
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


def find_cut(path: Path) -> int | None:
    """A line start near the middle of a big OpenMetrics file where both the series and the
    timestamp differ from the line before: in a file written series by series the halves then
    hold different series, in one written time by time they hold different times. None for a
    small file or when no such line is near."""
    size = path.stat().st_size
    if size < SPLIT_MIN_BYTES:
        return None
    with open(path, "rb") as handle:
        handle.seek(size // 2)
        handle.readline()
        pos = handle.tell()
        previous: tuple[bytes, bytes] | None = None
        while pos < size // 2 + CUT_SCAN_BYTES:
            line = handle.readline()
            if not line or line.startswith(b"#"):
                return None
            parts = line.rsplit(None, 2)
            if len(parts) != 3:
                return None
            if previous is not None and parts[0] != previous[0] and parts[2] != previous[1]:
                return pos
            previous = (parts[0], parts[2])
            pos += len(line)
    return None


def _copy_range(source: Path, target: Path, start: int, length: int, suffix: bytes = b"") -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        offset = start
        while length > 0:
            copied = os.copy_file_range(src.fileno(), dst.fileno(), length, offset)
            if copied == 0:
                raise OSError(f"{source}: shorter than expected")
            offset += copied
            length -= copied
        dst.write(suffix)


@dataclass
class FileBackfill:
    """A recording's OpenMetrics file backfilled as it is, checked by promtool's own accounting.

    promtool drops unsorted and duplicate samples silently and reads millisecond timestamps as
    seconds; so the samples it stored must equal the file's sample lines, and the time range must
    be plausible. ``finish`` is False otherwise (or when promtool failed): the caller then reads
    the file with the strict reader, which names the offending line.

    A big file is cut in two at a line (``find_cut``) and the halves backfilled at once (two
    cores). Each half's accounting catches what promtool drops inside it; what it would drop
    across the cut (a series' sample in the second half at or before one in the first) cannot
    happen when the halves' time ranges are apart, or when no series is in both halves. The
    first is checked here; the second needs the number of distinct series, which Prometheus
    tells once it serves the blocks: ``series_to_check`` is then that expected number, and when
    it differs the caller backfills the file again uncut.
    """

    path: Path
    out_dir: Path
    split: bool = True
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    outs: list[Path] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    blocks: Blocks | None = None
    series_to_check: int | None = None
    # Why ``finish`` was False, in a few words (the caller says so before reading the file whole).
    problem: str | None = None

    def start(self, work_dir: Path) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.sources = [self.path]
        try:
            cut = find_cut(self.path) if self.split and hasattr(os, "copy_file_range") else None
            if cut is not None:
                size = self.path.stat().st_size
                first, second = self.out_dir / "first.om", self.out_dir / "second.om"
                _copy_range(self.path, first, 0, cut, b"# EOF\n")
                _copy_range(self.path, second, cut, size - cut)
                self.sources = [first, second]
        except OSError:  # no room for the halves, say: one run over the file itself
            for part in self.out_dir.glob("*.om"):
                part.unlink(missing_ok=True)
        # Halves are made into one block each where possible (the longest block promtool makes),
        # so that a half's numSeries counts each of its series once.
        block = MAX_BLOCK_DURATION_LONG_SPAN if len(self.sources) > 1 else MAX_BLOCK_DURATION
        for i, source in enumerate(self.sources):
            out = self.out_dir / f"part{i}"
            out.mkdir()
            self.outs.append(out)
            self.procs.append(start_backfill(source, out, work_dir, block=block))

    def finish(self) -> bool:
        """Wait for promtool and check its accounting; True when the blocks hold the file exactly."""
        self.problem = None
        lines = sample_lines(self.path)  # while promtool runs
        errors = [finish_backfill(proc) for proc in self.procs]
        for source in self.sources:
            if source != self.path:
                source.unlink(missing_ok=True)
        failed = next((e for e in errors if e), None)
        if failed or not lines:
            self.problem = failed or "no '# EOF' line at its end"
            return False
        parts = [read_blocks(out) for out in self.outs]
        if any(b is None for b in parts):
            self.problem = "promtool wrote no block"
            return False
        found = [b for b in parts if b is not None]
        b = Blocks(
            sum(x.samples for x in found),
            min(x.min_ms for x in found),
            max(x.max_ms for x in found),
            sum(x.series for x in found),
        )
        self.blocks = b
        if len(found) == 2 and not found[0].max_ms < found[1].min_ms:
            self.series_to_check = b.series
        if b.samples != lines:
            self.problem = f"promtool stored {b.samples} samples of {lines} sample lines"
        elif not (b.min_ms >= 0 and b.max_ms <= MAX_PLAUSIBLE_SECONDS_MS):
            self.problem = "implausible sample times (milliseconds written as seconds?)"
        return self.problem is None

    def move_to(self, data_dir: Path) -> list[str]:
        """Move the blocks into the TSDB directory; their names."""
        names: list[str] = []
        for out in self.outs:
            names.extend(p.name for p in _block_dirs(out))
            move_blocks(out, data_dir)
        return names

    def discard(self) -> None:
        shutil.rmtree(self.out_dir, ignore_errors=True)

    def cancel(self) -> None:
        """Stop promtool if it still runs and remove what it wrote."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.discard()


def write_shifted(source: Path, target: Path, shift_ms: int) -> int:
    """Copy an OpenMetrics file with every sample's timestamp moved by ``shift_ms``, line by line
    (memory: one line); comment and EOF lines are copied as they are. The number of sample lines."""
    shift = Decimal(shift_ms) / 1000
    count = 0
    with open(source, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
        for line in src:
            if line.startswith("#") or not line.strip():
                dst.write(line)
                continue
            body = line.rstrip("\n")
            # After the labels (which may hold spaces) come the value and the timestamp.
            if len(body[body.rfind("}") + 1 :].split()) != 2 if "}" in body else len(body.split()) != 3:
                dst.write(line)  # no timestamp to move: promtool's accounting or the strict reader tells
                continue
            head, sep, ts = body.rpartition(" ")
            try:
                moved = Decimal(ts) + shift
            except ArithmeticError:
                dst.write(line)  # not a sample with a timestamp: promtool's accounting will tell
                continue
            dst.write(f"{head}{sep}{moved.normalize():f}\n")
            count += 1
    return count


def _placed_start(part: tuple[Sequence[Series], int]) -> int:
    series, shift = part
    return min((s.timestamps_ms[0] for s in series if s.timestamps_ms), default=0) + shift


def backfill(
    series_by_shift: Sequence[tuple[Sequence[Series], int]],
    data_dir: Path,
    work_dir: Path,
    *,
    cache: BlockCache | None = None,
    tool: str = "",
) -> int:
    """Write every (series, shift_ms) pair into one OpenMetrics file and create blocks in data_dir.

    The parts go in the order of their (shifted) first samples, so a series in several of them stays in time order
    (the backfiller refuses out-of-order samples). Returns the number of samples written. Nothing
    to write is not an error (no call to promtool). With a ``cache``, blocks made from the same
    text by the same promtool (``tool``) come from it instead.
    """
    promtool = find_binary("promtool")
    if promtool is None:
        raise BackfillError("no promtool binary found (install Debian's prometheus package)")
    source = work_dir / "backfill.om"
    count = 0
    first = last = 0
    digest = hashlib.sha256()
    with open(source, "w", encoding="utf-8") as handle:
        for series, shift in sorted(series_by_shift, key=_placed_start):
            for s in series:
                if s.timestamps_ms:
                    first = min(first, s.timestamps_ms[0] + shift) if count else s.timestamps_ms[0] + shift
                    last = max(last, s.timestamps_ms[-1] + shift)
            for line in iter_lines(series, shift_ms=shift):
                if line != "# EOF\n":
                    handle.write(line)
                    digest.update(line.encode())
                    count += 1
        handle.write("# EOF\n")
    if count == 0:
        return 0
    block = _block_duration(first, last)
    key = key_of("combined", digest.hexdigest(), tool, block) if cache is not None else ""
    if cache is not None and cache.get(key, data_dir) is not None:
        return count
    out = work_dir / "combined-blocks"
    out.mkdir(exist_ok=True)
    error = finish_backfill(start_backfill(source, out, work_dir, block=block))
    if error is not None:
        raise BackfillError(error)
    if cache is not None:
        cache.put(key, out, {"samples": count})
    move_blocks(out, data_dir)
    shutil.rmtree(out, ignore_errors=True)
    return count


# --- Prometheus 3.x: `le` and `quantile` label values as its OpenMetrics parser writes them -----

_TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)")
_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)")
# The label each metric type's parser normalises (textparse.normalizeFloatsInLabelValues).
_NORMALISED_LABEL = {"histogram": "le", "summary": "quantile"}


def openmetrics_float(text: str) -> str:
    """A label value as Prometheus 3's OpenMetrics parser rewrites ``le``/``quantile``: the shortest
    float text, Go's ``%g`` style (``1e+06``), with ``.0`` when it has no point or exponent
    ("1" -> "1.0", "2.5" stays); text that is not a float is left alone."""
    if "_" in text or text != text.strip():
        return text  # Go's ParseFloat refuses these where Python's float() would not
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0.0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent  # where the decimal point goes after the digits' first
    sign_text = "-" if sign else ""
    x = point - 1
    if x < -4 or x >= 6:  # %e, as Go's shortest %g decides
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign_text}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        body = "0." + "0" * -point + digits
    elif point >= len(digits):
        body = digits + "0" * (point - len(digits)) + ".0"
    else:
        body = digits[:point] + "." + digits[point:]
    return sign_text + body


def normalise_bucket_labels(path: Path, series: Sequence[Series]) -> list[Series]:
    """``series`` (read from the OpenMetrics file ``path``) with the ``le`` label of histograms and
    the ``quantile`` label of summaries as Prometheus 3.x's backfiller writes them: a sample line
    is normalised when the last ``# TYPE`` line before it says histogram (``le``) or summary
    (``quantile``). The file's own series pass through promtool 3.x unchanged otherwise, so a
    recording gets the same labels whether promtool or obsbox's reader reads it."""
    normalised: dict[str, set[str]] = {}  # metric name -> the labels to normalise on it
    current = ""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                match = _TYPE_LINE.match(line)
                if match is not None:
                    current = match.group(2)
                continue
            label = _NORMALISED_LABEL.get(current)
            if label is not None and f'{label}="' in line:
                name = _NAME.match(line)
                if name is not None:
                    normalised.setdefault(name.group(1), set()).add(label)
    if not normalised:
        return list(series)
    out = []
    for s in series:
        labels = normalised.get(s.name)
        if labels and any(k in s.labels for k in labels):
            fixed = {k: openmetrics_float(v) if k in labels else v for k, v in s.labels.items()}
            out.append(Series(fixed, s.timestamps_ms, s.values))
        else:
            out.append(s)
    return out
