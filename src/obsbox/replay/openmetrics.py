"""OpenMetrics text with timestamps: the data half of a recording, and the backfiller's input.

``promtool tsdb create-blocks-from openmetrics`` silently drops unsorted and duplicate samples
and reads millisecond timestamps as seconds, all with exit status 0, so the reader here refuses
such input with an error naming the file and line, and the writer only ever emits series whose
samples are strictly increasing in time, with timestamps in seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from obsbox.formats import INFINITIES, format_number, format_time, parse_number
from obsbox.replay.model import Series, label_key

# A timestamp above this, read as seconds, is after the year 5000: it is milliseconds.
MAX_PLAUSIBLE_SECONDS = 1e11

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>\S+)"
    r"(?:\s+(?P<ts>\S+))?"
    r"\s*(?:#.*)?$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class OpenMetricsError(ValueError):
    """Bad OpenMetrics input; the message names the file and line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line


@dataclass
class _Accumulator:
    labels: dict[str, str]
    timestamps_ms: list[int]
    values: list[float]
    last_line: int


def _parse_labels(text: str, path: str, line: int) -> dict[str, str]:
    labels: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if match is None:
            raise OpenMetricsError(path, line, f"malformed labels {{{text}}}")
        name, raw = match.group(1), match.group(2)
        if name in labels:
            raise OpenMetricsError(path, line, f"label {name!r} given twice")
        labels[name] = re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], raw)
        pos = match.end()
    return labels


def _parse_value(text: str, path: str, line: int) -> float:
    try:
        float(text)
    except ValueError:
        raise OpenMetricsError(path, line, f"value {text!r} is not a number") from None
    try:
        return parse_number(text)
    except ValueError as exc:
        raise OpenMetricsError(path, line, f"value {exc}") from None


def read_series(path: Path | str) -> list[Series]:
    """Every series in an OpenMetrics file, samples in time order.

    Well-formed files take the fast path; anything it does not accept is read again by the
    strict reader, which refuses bad input naming the file and line (see ``_read_series_strict``).
    """
    return _read_series_fast(Path(path)) or _read_series_strict(path)


def _read_series_strict(path: Path | str) -> list[Series]:
    """Every series in an OpenMetrics file, each line parsed in full.

    Refuses, naming the file and line: a sample without a timestamp, a timestamp that looks like
    milliseconds, a sample at or before its series' previous one (unsorted or duplicate), a
    missing ``# EOF`` or data after it, and a file with no samples.
    """
    path_str = str(path)
    series: dict[tuple[tuple[str, str], ...], _Accumulator] = {}
    seen_eof = False
    with open(path, encoding="utf-8") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            if seen_eof:
                if line.strip():
                    raise OpenMetricsError(path_str, lineno, "data after # EOF")
                continue
            if not line.strip():
                raise OpenMetricsError(path_str, lineno, "blank line (not allowed in OpenMetrics)")
            if line.startswith("#"):
                if line.strip() == "# EOF":
                    seen_eof = True
                continue
            match = _SAMPLE.match(line)
            if match is None:
                raise OpenMetricsError(path_str, lineno, f"not a sample line: {line[:80]!r}")
            if match.group("ts") is None:
                raise OpenMetricsError(path_str, lineno, "sample has no timestamp")
            labels = _parse_labels(match.group("labels") or "", path_str, lineno)
            labels["__name__"] = match.group("name")
            value = _parse_value(match.group("value"), path_str, lineno)
            ts_s = _parse_value(match.group("ts"), path_str, lineno)
            if not math.isfinite(ts_s) or ts_s < 0:
                raise OpenMetricsError(path_str, lineno, f"timestamp {match.group('ts')} is not a time")
            if ts_s > MAX_PLAUSIBLE_SECONDS:
                raise OpenMetricsError(
                    path_str, lineno, f"timestamp {match.group('ts')} looks like milliseconds; OpenMetrics wants seconds"
                )
            ts_ms = round(ts_s * 1000)
            key = label_key(labels)
            acc = series.get(key)
            if acc is None:
                series[key] = _Accumulator(labels, [ts_ms], [value], lineno)
                continue
            previous = acc.timestamps_ms[-1]
            if ts_ms == previous:
                raise OpenMetricsError(
                    path_str, lineno, f"duplicate sample at {format_time(ts_ms)} for {format_series_name(labels)} (line {acc.last_line})"
                )
            if ts_ms < previous:
                raise OpenMetricsError(
                    path_str,
                    lineno,
                    f"sample at {format_time(ts_ms)} is before the previous one for {format_series_name(labels)} "
                    f"at line {acc.last_line}: samples of a series must be in time order",
                )
            acc.timestamps_ms.append(ts_ms)
            acc.values.append(value)
            acc.last_line = lineno
    if not seen_eof:
        raise OpenMetricsError(path_str, lineno if series else 1, "missing '# EOF' at the end")
    if not series:
        raise OpenMetricsError(path_str, 1, "the recording has no samples")
    return [Series(a.labels, a.timestamps_ms, a.values) for a in series.values()]


def parse_series_name(prefix: str) -> dict[str, str] | None:
    """Labels (with ``__name__``) of ``name{labels}`` as the strict reader reads them; None if malformed."""
    match = _SAMPLE.match(prefix + " 0 0")
    if match is None or match.group("value") != "0" or match.group("ts") != "0":
        return None
    try:
        labels = _parse_labels(match.group("labels") or "", "", 0)
    except OpenMetricsError:
        return None
    labels["__name__"] = match.group("name")
    return labels


def _read_series_fast(path: Path) -> list[Series] | None:
    """The strict reader's result for well-formed files, several times faster; None for
    anything unusual (comments inside samples, unsorted or odd timestamps, bad labels), so that
    the strict reader then reads the file and reports the problem with its line.

    Week-long recordings hold millions of samples; parsing each line with regular expressions
    dominated the replay. Here a line is split from the right and only each distinct series
    prefix (``name{labels}``) is parsed properly, once.
    """
    by_prefix: dict[str, tuple[list[int], list[float]]] = {}
    seen_eof = False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if seen_eof:
                if line.strip():
                    return None
                continue
            if line.startswith("#"):
                if line.rstrip("\n") == "# EOF":
                    seen_eof = True
                continue
            if "#" in line:  # an exemplar or a '#' inside a label value: let the full parser decide
                return None
            parts = line.rsplit(None, 2)
            if len(parts) != 3:
                return None
            prefix, value_text, ts_text = parts
            try:
                value = float(value_text)
                ts_s = float(ts_text)
            except ValueError:
                return None
            if math.isinf(value) and value_text.lower() not in INFINITIES:  # 1e999: refused by the strict reader
                return None
            if not (0 <= ts_s <= MAX_PLAUSIBLE_SECONDS):  # also false for NaN
                return None
            ts_ms = round(ts_s * 1000)
            entry = by_prefix.get(prefix)
            if entry is None:
                by_prefix[prefix] = ([ts_ms], [value])
                continue
            timestamps = entry[0]
            if ts_ms <= timestamps[-1]:
                return None
            timestamps.append(ts_ms)
            entry[1].append(value)
    if not seen_eof or not by_prefix:
        return None
    out: list[Series] = []
    keys: set[tuple[tuple[str, str], ...]] = set()
    for prefix, (timestamps, values) in by_prefix.items():
        labels = parse_series_name(prefix)
        if labels is None:
            return None
        key = label_key(labels)
        if key in keys:  # one series spelled two ways (label order): the full parser merges it
            return None
        keys.add(key)
        out.append(Series(labels, timestamps, values))
    return out


def normalise(series: Iterable[Series]) -> list[Series]:
    """Series sorted by time with exact duplicates removed; conflicting duplicates refused.

    For importers and recorders whose sources are not guaranteed ordered.
    """
    out = []
    for s in series:
        pairs = sorted(zip(s.timestamps_ms, s.values), key=lambda p: p[0])
        ts: list[int] = []
        vs: list[float] = []
        for t, v in pairs:
            if ts and ts[-1] == t:
                if vs[-1] == v or (math.isnan(vs[-1]) and math.isnan(v)):
                    continue
                raise ValueError(
                    f"{format_series_name(s.labels)}: two different values at {format_time(t)}: {vs[-1]!r} and {v!r}"
                )
            ts.append(t)
            vs.append(v)
        out.append(Series(dict(s.labels), ts, vs))
    return out


def format_series_name(labels: Mapping[str, str]) -> str:
    """``name{a="b"}``: the series' name and labels in exposition syntax."""
    items = dict(labels)
    name = items.pop("__name__", "")
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(items.items()))
    return f"{name}{{{inner}}}" if inner else name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def iter_lines(series: Iterable[Series], *, shift_ms: int = 0) -> Iterator[str]:
    """OpenMetrics lines (with '# EOF'), each series' samples strictly increasing in time.

    ``shift_ms`` moves every sample in time; the replay uses it to lay several recordings side
    by side in one TSDB.
    """
    for s in series:
        prefix = format_series_name(s.labels)
        previous: int | None = None
        for ts, value in zip(s.timestamps_ms, s.values):
            if previous is not None and ts <= previous:
                raise ValueError(f"{prefix}: samples not strictly increasing at {format_time(ts)}")
            previous = ts
            t = ts + shift_ms
            yield f"{prefix} {format_number(value)} {t // 1000}.{t % 1000:03d}\n"
    yield "# EOF\n"


def write_series(series: Iterable[Series], out: IO[str] | Path | str, *, shift_ms: int = 0) -> None:
    """Write series as OpenMetrics text with timestamps in seconds."""
    if isinstance(out, (str, Path)):
        with open(out, "w", encoding="utf-8") as handle:
            handle.writelines(iter_lines(series, shift_ms=shift_ms))
    else:
        out.writelines(iter_lines(series, shift_ms=shift_ms))
