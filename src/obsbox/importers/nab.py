"""NAB-style data (the Numenta Anomaly Benchmark layout) as a recording.

A CSV with the header ``timestamp,value`` (timestamps ``YYYY-MM-DD HH:MM:SS`` in UTC, or epoch
seconds) and a labelled-windows JSON mapping data file paths to ``[start, end]`` pairs, as in
NAB's ``labels/combined_windows.json``. Each window becomes an incident whose alert must fire
inside it (NAB's windows last hours to weeks); a file without windows becomes a noise recording.

Real exports repeat a timestamp (a DST hour written twice, a repeated hour) or go back in time:
refused at the line by default, sorted and de-duplicated with ``repair`` (every change listed).
Gaps and samples sparser than Prometheus' 5m lookback are reported as warnings.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from obsbox.formats import format_duration, format_time, parse_duration, parse_time_ms
from obsbox.importers.common import recording_name
from obsbox.replay.model import Series
from obsbox.replay.recording import RecordingError, load_recording, write_data, write_manifest


@dataclass(frozen=True)
class NabOptions:
    metric: str = "nab_value"
    alert: str | None = None  # the alert that must fire; None: any alert of `severity`
    severity: str = "critical"
    within: str | None = None  # None: the window's own length (fire anywhere inside it)

# Prometheus' default lookback delta: how long an instant query sees a sample.
LOOKBACK_MS = 5 * 60_000


def parse_nab_time(text: str) -> int:
    """Milliseconds since the epoch; NAB's naive timestamps are UTC."""
    text = text.strip()
    try:
        return parse_time_ms(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text)  # ValueError for garbage, reported by the caller
    return round(moment.replace(tzinfo=UTC).timestamp() * 1000)


@dataclass
class NabData:
    """A NAB CSV as read: its samples in time order, what ``--repair`` changed, and what a replay
    should be warned of (gaps, samples sparser than the lookback)."""

    timestamps: list[int]
    values: list[float]
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_nab_csv(path: Path, *, repair: bool = False) -> NabData:
    """The rows of a NAB CSV. Without ``repair`` a duplicate or backward timestamp is refused at
    its line; with it, rows are sorted by time and repeated timestamps keep their first row, and
    each change is listed in ``repairs`` (real exports hold both: a DST hour written twice, a
    repeated hour)."""
    rows_read: list[tuple[int, float, int, str]] = []  # (ms, value, line, text)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None:
                raise RecordingError(path, 1, "the CSV is empty")
            if [h.strip().lower() for h in header[:2]] != ["timestamp", "value"]:
                raise RecordingError(path, 1, f"expected the header 'timestamp,value', got {','.join(header)!r}")
            for row in rows:
                line = rows.line_num
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2:
                    raise RecordingError(path, line, "expected timestamp,value")
                try:
                    ts = parse_nab_time(row[0])
                except ValueError:
                    raise RecordingError(path, line, f"{row[0]!r} is not a timestamp") from None
                try:
                    value = float(row[1])
                except ValueError:
                    raise RecordingError(path, line, f"{row[1]!r} is not a number") from None
                if not math.isfinite(value):
                    raise RecordingError(path, line, f"{row[1]!r} is not a finite number")
                if rows_read and ts <= rows_read[-1][0] and not repair:
                    what = "a duplicate of" if ts == rows_read[-1][0] else "before"
                    raise RecordingError(
                        path, line, f"timestamp {row[0]} is {what} the previous row's (--repair sorts and de-duplicates)"
                    )
                rows_read.append((ts, value, line, row[0].strip()))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not rows_read:
        raise RecordingError(path, 1, "the CSV has no rows: an empty recording")
    data = NabData([], [])
    backward = [r for prev, r in zip(rows_read, rows_read[1:]) if r[0] < prev[0]]
    if backward:
        data.repairs.append(
            f"{path}: sorted {len(backward)} row(s) that went back in time, first at line {backward[0][2]} ({backward[0][3]})"
        )
    kept: dict[int, tuple[int, float, int, str]] = {}
    for r in sorted(rows_read, key=lambda r: (r[0], r[2])):  # stable: the first row of a time wins
        if r[0] in kept:
            first = kept[r[0]]
            same = "the same value" if r[1] == first[1] else f"value {r[1]:g}, kept {first[1]:g} of line {first[2]}"
            data.repairs.append(f"{path}:{r[2]}: dropped a second row for {r[3]} ({same})")
            continue
        kept[r[0]] = r
    data.timestamps = [r[0] for r in kept.values()]
    data.values = [r[1] for r in kept.values()]
    data.warnings = spacing_warnings(path, data.timestamps)
    return data


def spacing_warnings(path: Path, timestamps: list[int]) -> list[str]:
    """Gaps and sparse sampling a replay should know of: spacing longer than the 5m lookback
    (Prometheus sees each sample for only 5 minutes, so instant queries find nothing in between),
    and gaps of many sample intervals (a day or more is named as days)."""
    if len(timestamps) < 2:
        return []
    steps = [b - a for a, b in zip(timestamps, timestamps[1:])]
    median = statistics.median(steps)
    out = []
    if median > LOOKBACK_MS:
        out.append(
            f"{path}: samples every {format_duration(median / 1000)}, longer than the 5m lookback: an expression sees "
            f"each sample for 5m only; read it through last_over_time(...[{format_duration(median / 1000)}]) or "
            "max_over_time in the rules you test"
        )
    gaps = [(a, b) for a, b in zip(timestamps, timestamps[1:]) if b - a > max(10 * median, LOOKBACK_MS)]
    for a, b in gaps:
        length = (b - a) / 1000
        what = f"{length / 86400:.1f} days" if length >= 86400 else format_duration(length)
        out.append(f"{path}: no samples for {what}, {format_time(a)}..{format_time(b)}")
    return out


def windows_for(windows_path: Path, csv_path: Path) -> tuple[list[tuple[int, int]], int]:
    """The labelled windows of one data file (the JSON key is its path or ends with its name),
    and the line of that key."""
    try:
        text = windows_path.read_text(encoding="utf-8")
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(windows_path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(windows_path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(document, dict):
        raise RecordingError(windows_path, 1, "expected an object mapping data files to window lists")
    keys = [k for k in document if k == str(csv_path) or k == csv_path.name or k.endswith("/" + csv_path.name)]
    if len(keys) != 1:
        why = "no entry" if not keys else f"{len(keys)} entries"
        raise RecordingError(windows_path, 1, f"{why} for {csv_path.name}")
    raw = document[keys[0]]
    # json has no node marks; the key's first appearance is the line a reader needs.
    line = text.count("\n", 0, max(text.find(json.dumps(keys[0])), 0)) + 1
    if not isinstance(raw, list):
        raise RecordingError(windows_path, line, f"{keys[0]}: expected a list of [start, end] pairs")
    out = []
    for i, pair in enumerate(raw):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise RecordingError(windows_path, line, f"{keys[0]}[{i}]: expected [start, end] strings")
        try:
            start, end = parse_nab_time(pair[0]), parse_nab_time(pair[1])
        except ValueError:
            raise RecordingError(windows_path, line, f"{keys[0]}[{i}]: {pair!r} are not timestamps") from None
        if start >= end:
            raise RecordingError(windows_path, line, f"{keys[0]}[{i}]: end is not after start")
        out.append((start, end))
    return out, line


@dataclass
class NabImport:
    manifests: list[Path]
    repairs: list[str]
    warnings: list[str]


def import_nab_file(
    csv_path: Path, windows_path: Path, out_dir: Path, options: NabOptions = NabOptions(), *, repair: bool = False
) -> NabImport:
    """Write the recordings of a NAB data file: one incident per labelled window (sharing one data
    file) whose alert must fire inside that window (NAB's windows are wide, centred on the
    anomaly; ``options.within`` overrides), or one noise recording when the file has none."""
    within_s: float | None = None
    if options.within is not None:
        try:
            within_s = parse_duration(options.within)
        except ValueError as exc:
            raise RecordingError("--within", 1, str(exc)) from None
    data = read_nab_csv(csv_path, repair=repair)
    timestamps, values = data.timestamps, data.values
    windows, line = windows_for(windows_path, csv_path)
    first, last = timestamps[0], timestamps[-1]
    warnings = list(data.warnings)
    for start, end in windows:
        if start < first or end > last:
            raise RecordingError(
                windows_path,
                line,
                f"window {format_time(start)}..{format_time(end)} lies outside the data of {csv_path.name} "
                f"({format_time(first)}..{format_time(last)})",
            )
        inside = bisect_right(timestamps, end) - bisect_left(timestamps, start)
        if inside == 0:
            warnings.append(f"{windows_path}:{line}: window {format_time(start)}..{format_time(end)} holds no sample")
    name = recording_name(csv_path.stem)
    data_name = f"{name}.om"
    series = Series({"__name__": options.metric, "dataset": name}, timestamps, values)
    target = {"alert": options.alert} if options.alert else {"severity": options.severity}
    manifests: list[dict[str, Any]] = []
    for i, (start, end) in enumerate(windows):
        within = within_s if within_s is not None else (end - start) / 1000
        manifests.append(
            {
                "name": f"{name}-window{i + 1}" if len(windows) > 1 else name,
                "kind": "incident",
                "description": (
                    f"NAB data file {csv_path.name}, labelled anomaly window {i + 1} of {len(windows)}: "
                    f"an alert must fire within {format_duration(within)} of its start."
                ),
                "source": "imported",
                "source_detail": f"{csv_path.name} + {windows_path.name}",
                "data": data_name,
                "windows": [{"start": format_time(start), "end": format_time(end)}],
                "expect": {"fire": [{**target, "within": format_duration(within)}]},
            }
        )
    if not windows:
        manifests.append(
            {
                "name": name,
                "kind": "noise",
                "description": f"NAB data file {csv_path.name} with no labelled anomaly window.",
                "source": "imported",
                "source_detail": f"{csv_path.name} + {windows_path.name}",
                "data": data_name,
            }
        )
    write_data(out_dir / data_name, [series])
    paths = []
    for manifest in manifests:
        path = write_manifest(out_dir, manifest)
        load_recording(path)  # what we wrote must read back; a failure here is our bug, reported plainly
        paths.append(path)
    return NabImport(paths, data.repairs, warnings)
