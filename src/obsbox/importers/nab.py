"""NAB-style data (the Numenta Anomaly Benchmark layout) as a recording.

A CSV with the header ``timestamp,value`` (timestamps ``YYYY-MM-DD HH:MM:SS`` in UTC, or epoch
seconds) and a labelled-windows JSON mapping data file paths to ``[start, end]`` pairs, as in
NAB's ``labels/combined_windows.json``. Windows become impact windows; a file without windows
becomes a noise recording.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from obsbox.formats import format_duration, format_time, parse_duration, parse_time_ms
from obsbox.importers.common import recording_name
from obsbox.replay.model import Series
from obsbox.replay.recording import RecordingError, load_recording, write_recording


@dataclass(frozen=True)
class NabOptions:
    metric: str = "nab_value"
    alert: str | None = None  # the alert that must fire; None: any alert of `severity`
    severity: str = "critical"
    within: str = "15m"


def parse_nab_time(text: str) -> int:
    """Milliseconds since the epoch; NAB's naive timestamps are UTC."""
    text = text.strip()
    try:
        return parse_time_ms(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text)  # ValueError for garbage, reported by the caller
    return round(moment.replace(tzinfo=UTC).timestamp() * 1000)


def read_nab_csv(path: Path) -> tuple[list[int], list[float]]:
    timestamps: list[int] = []
    values: list[float] = []
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
                if timestamps and ts <= timestamps[-1]:
                    what = "a duplicate of" if ts == timestamps[-1] else "before"
                    raise RecordingError(path, line, f"timestamp {row[0]} is {what} the previous row's")
                timestamps.append(ts)
                values.append(value)
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not timestamps:
        raise RecordingError(path, 1, "the CSV has no rows: an empty recording")
    return timestamps, values


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


def import_nab_file(csv_path: Path, windows_path: Path, out_dir: Path, options: NabOptions = NabOptions()) -> Path:
    """Write one recording for a NAB data file; returns the manifest path (validated on return)."""
    try:
        within_s = parse_duration(options.within)
    except ValueError as exc:
        raise RecordingError("--within", 1, str(exc)) from None
    timestamps, values = read_nab_csv(csv_path)
    windows, line = windows_for(windows_path, csv_path)
    first, last = timestamps[0], timestamps[-1]
    for start, end in windows:
        if start < first or end > last:
            raise RecordingError(
                windows_path,
                line,
                f"window {format_time(start)}..{format_time(end)} lies outside the data of {csv_path.name} "
                f"({format_time(first)}..{format_time(last)})",
            )
    name = recording_name(csv_path.stem)
    manifest: dict[str, Any] = {
        "name": name,
        "kind": "incident" if windows else "noise",
        "description": f"NAB data file {csv_path.name} with {len(windows)} labelled anomaly window(s).",
        "source": "imported",
        "source_detail": f"{csv_path.name} + {windows_path.name}",
    }
    if windows:
        manifest["windows"] = [{"start": format_time(s), "end": format_time(e)} for s, e in windows]
        target = {"alert": options.alert} if options.alert else {"severity": options.severity}
        manifest["expect"] = {"fire": [{**target, "within": format_duration(within_s)}]}
    series = Series({"__name__": options.metric, "dataset": name}, timestamps, values)
    path = write_recording(out_dir, manifest, [series])
    load_recording(path)  # what we wrote must read back; a failure here is our bug, reported plainly
    return path


