"""Recordings: a YAML manifest plus OpenMetrics data, validated with errors naming file and line.

The manifest format is documented in the README (Rule tester: the recording format). The YAML is read
with ``formats.load_yaml_with_lines`` so that every error can point at the line of the offending key,
and so that timestamps stay strings we parse ourselves (RFC 3339 or epoch). ``write_recording`` is
the one writer of recordings (importers, the corpus generator, the demo recorder, ``obsbox record``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsbox.formats import (
    FormatError,
    LineReader,
    Map,
    line_of,
    load_yaml_with_lines,
    parse_duration,
    write_atomically,
)

# Re-exported: the replay's callers read and write times and durations through this module too.
from obsbox.formats import format_duration as format_duration
from obsbox.formats import format_time as format_time
from obsbox.formats import parse_time_ms as parse_time_ms
from obsbox.replay.model import Series
from obsbox.replay.openmetrics import normalise, read_series, write_series

KINDS = ("incident", "noise")
SOURCES = ("recorded", "generated", "imported")
PAGE_SEVERITY = "critical"
# Severities that notify no one (an always-firing Watchdog is "none" or "info").
SILENT_SEVERITIES = frozenset({"info", "none"})
MANIFEST_SUFFIXES = (".yaml", ".yml")

_TOP_KEYS = {
    "name",
    "kind",
    "description",
    "source",
    "source_detail",
    "data",
    "start",
    "end",
    "windows",
    "expect",
}


class RecordingError(FormatError):
    """A bad recording; the message names the file and line (line 0: the file as a whole)."""


@dataclass(frozen=True)
class Window:
    """An impact window: the time the incident hurt users, [start_ms, end_ms]."""

    start_ms: int
    end_ms: int
    line: int = 0


@dataclass(frozen=True)
class FireExpectation:
    """An alert that must fire within ``within_s`` of each window's start."""

    within_s: float
    alert: str | None = None
    severity: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    line: int = 0
    # Set by ``obsbox replay --score-by severity|labels``: what the manifest asked for (an alert's
    # name, or a severity) before the expectation was rewritten to match by severity or labels.
    stands_for: str | None = None

    def describe(self) -> str:
        if self.alert:
            what = f"alert {self.alert}"
        elif self.severity:
            what = f"severity {self.severity}"
        else:
            what = "a notifying alert"
        if self.labels:
            what += " {" + ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())) + "}"
        if self.stands_for:
            what += f" (for {self.stands_for})"
        return f"{what} within {format_duration(self.within_s)}"

    def matches(self, alert_labels: Mapping[str, str]) -> bool:
        """Whether an alert instance with these labels satisfies this expectation (one with neither
        alert nor severity, from ``--score-by labels``, wants an alert that notifies someone)."""
        if self.alert is not None and alert_labels.get("alertname") != self.alert:
            return False
        if self.severity is not None and alert_labels.get("severity") != self.severity:
            return False
        if self.alert is None and self.severity is None and alert_labels.get("severity", "") in SILENT_SEVERITIES:
            return False
        return all(alert_labels.get(k) == v for k, v in self.labels.items())

    def names_rule(self, alertname: str, severity: str) -> bool:
        """Whether this expectation is about a rule (by its name or its static severity)."""
        if self.alert is not None:
            return self.alert == alertname
        if self.severity is None:
            return severity not in SILENT_SEVERITIES
        return self.severity == severity


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    kind: str
    description: str
    source: str
    data_path: Path
    source_detail: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    windows: Sequence[Window] = ()
    fire: Sequence[FireExpectation] = ()
    quiet_severities: Sequence[str] = ()
    lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Recording:
    """A validated manifest with its data and the replay range resolved."""

    manifest: Manifest
    series: Sequence[Series]
    start_ms: int
    end_ms: int

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def kind(self) -> str:
        return self.manifest.kind


def _compose(path: Path) -> Map:
    root = load_yaml_with_lines(path, RecordingError, what="not valid YAML: ", unreadable="cannot read: ")
    if root is None:
        raise RecordingError(path, 1, "the manifest is empty")
    return root


def _mapping(r: LineReader, node: object, line: int, what: str, allowed: set[str]) -> Map:
    """A mapping whose keys are each given once and all in ``allowed``."""
    if not isinstance(node, Map):
        raise r.fail(line_of(node, line), f"{what} must be a mapping")
    r.check_keys(node, allowed, what)
    return node


def _duration_s(r: LineReader, node: object, line: int, what: str) -> float:
    try:
        return parse_duration(r.text(node, line, what))
    except ValueError as exc:
        raise r.fail(line_of(node, line), f"{what}: {exc}") from None


def _labels(r: LineReader, node: object, line: int, what: str) -> dict[str, str]:
    if not isinstance(node, Map):
        raise r.fail(line_of(node, line), f"{what} must be a mapping of label names to values")
    out: dict[str, str] = {}
    for key, value in node.items():
        if value is not None and not isinstance(value, str):
            raise r.fail(node.key_lines.get(key, node.line), f"{what}: label names and values must be strings")
        out[key] = "" if value is None else str(value)
    return out


def load_manifest(path: Path | str) -> Manifest:
    """Parse and validate a manifest on its own (the data file is only checked to exist)."""
    path = Path(path)
    r = LineReader(path, RecordingError)
    root = _compose(path)
    top = _mapping(r, root, 1, "manifest", _TOP_KEYS)
    lines = dict(top.key_lines)
    at = top.line

    def value_line(key: str) -> int:
        return line_of(top[key], top.key_lines[key])

    for required in ("name", "kind", "description", "source"):
        if required not in top:
            raise r.fail(at, f"missing required key {required!r}")
    name = r.text(top["name"], lines["name"], "name")
    if name != path.stem:
        raise r.fail(value_line("name"), f"name {name!r} must equal the file stem {path.stem!r}")
    kind = r.choice(top["kind"], lines["kind"], "kind", KINDS)
    description = r.text(top["description"], lines["description"], "description")
    source = r.choice(top["source"], lines["source"], "source", SOURCES)
    source_detail = r.text(top["source_detail"], lines["source_detail"], "source_detail") if "source_detail" in top else None

    if "data" in top:
        data_line = value_line("data")
        data_path = path.parent / r.text(top["data"], data_line, "data")
    else:
        data_line = at
        data_path = path.with_suffix(".om")
    if not data_path.is_file():
        raise r.fail(data_line, f"data file {data_path} does not exist")

    start_ms = r.time_ms(top["start"], lines["start"], "start") if "start" in top else None
    end_ms = r.time_ms(top["end"], lines["end"], "end") if "end" in top else None
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise r.fail(value_line("end"), f"end {format_time(end_ms)} is not after start {format_time(start_ms)}")

    windows: list[Window] = []
    for i, node in enumerate(r.listing(top["windows"], lines["windows"], "windows") if "windows" in top else []):
        what = f"windows[{i}]"
        w = _mapping(r, node, lines["windows"], what, {"start", "end"})
        for required in ("start", "end"):
            if required not in w:
                raise r.fail(w.line, f"{what}: missing {required!r}")
        w_start = r.time_ms(w["start"], w.key_lines["start"], f"{what}.start")
        w_end = r.time_ms(w["end"], w.key_lines["end"], f"{what}.end")
        if w_start >= w_end:
            raise r.fail(
                line_of(w["end"], w.key_lines["end"]),
                f"{what}: end {format_time(w_end)} is not after start {format_time(w_start)}",
            )
        windows.append(Window(w_start, w_end, w.line))
    if kind == "incident" and not windows:
        raise r.fail(lines.get("windows", at), "an incident needs at least one impact window")
    if kind == "noise" and windows:
        raise r.fail(lines["windows"], "a noise recording has no impact windows")

    fire: list[FireExpectation] = []
    quiet: list[str] = [PAGE_SEVERITY] if kind == "noise" else []
    if "expect" in top:
        expect = _mapping(r, top["expect"], lines["expect"], "expect", {"fire", "quiet_severities"})
        fire_line = expect.key_lines.get("fire", expect.line)
        for i, node in enumerate(r.listing(expect["fire"], fire_line, "expect.fire") if "fire" in expect else []):
            fire.append(_fire_expectation(r, node, fire_line, f"expect.fire[{i}]"))
        if "quiet_severities" in expect:
            quiet_line = expect.key_lines["quiet_severities"]
            quiet = [
                r.text(n, quiet_line, "expect.quiet_severities[]")
                for n in r.listing(expect["quiet_severities"], quiet_line, "expect.quiet_severities")
            ]
        if kind == "noise" and fire:
            raise r.fail(fire_line, "a noise recording cannot expect alerts to fire")
    if kind == "incident" and not fire:
        raise r.fail(lines.get("expect", at), "an incident needs expect.fire entries")

    return Manifest(
        path=path,
        name=name,
        kind=kind,
        description=description,
        source=source,
        source_detail=source_detail,
        data_path=data_path,
        start_ms=start_ms,
        end_ms=end_ms,
        windows=tuple(windows),
        fire=tuple(fire),
        quiet_severities=tuple(quiet),
        lines=lines,
    )


def _fire_expectation(r: LineReader, node: object, line: int, what: str) -> FireExpectation:
    e = _mapping(r, node, line, what, {"alert", "severity", "within", "labels"})
    if ("alert" in e) == ("severity" in e):
        raise r.fail(e.line, f"{what}: give exactly one of 'alert' or 'severity'")
    if "within" not in e:
        raise r.fail(e.line, f"{what}: missing 'within' (a duration such as 10m)")
    k = e.key_lines
    return FireExpectation(
        within_s=_duration_s(r, e["within"], k["within"], f"{what}.within"),
        alert=r.text(e["alert"], k["alert"], f"{what}.alert") if "alert" in e else None,
        severity=r.text(e["severity"], k["severity"], f"{what}.severity") if "severity" in e else None,
        labels=_labels(r, e["labels"], k["labels"], f"{what}.labels") if "labels" in e else {},
        line=e.line,
    )


def resolve(manifest: Manifest, series: Sequence[Series]) -> Recording:
    """Attach data to a manifest: default the replay range and check windows lie inside the data."""
    first = min((s.timestamps_ms[0] for s in series if len(s.timestamps_ms)), default=None)
    last = max((s.timestamps_ms[-1] for s in series if len(s.timestamps_ms)), default=None)
    if first is None or last is None:
        raise RecordingError(manifest.data_path, 1, "the recording has no samples")
    start_ms, end_ms = resolve_range(manifest, first, last)
    return Recording(manifest, series, start_ms, end_ms)


def resolve_range(manifest: Manifest, first: int, last: int) -> tuple[int, int]:
    """The replay range of a manifest whose data spans [first, last] (ms); refuses, naming the
    manifest's line, an empty range, a range without data, and windows outside the data."""
    path = manifest.path
    start_ms = manifest.start_ms if manifest.start_ms is not None else first
    end_ms = manifest.end_ms if manifest.end_ms is not None else last
    if start_ms >= end_ms:
        raise RecordingError(
            path, manifest.lines.get("start", 1), f"the replay range {format_time(start_ms)}..{format_time(end_ms)} is empty"
        )
    if end_ms < first or start_ms > last:
        raise RecordingError(
            path,
            manifest.lines.get("start", manifest.lines.get("end", 1)),
            f"the replay range {format_time(start_ms)}..{format_time(end_ms)} holds no data "
            f"(data spans {format_time(first)}..{format_time(last)})",
        )
    lo, hi = max(start_ms, first), min(end_ms, last)
    for i, w in enumerate(manifest.windows):
        if w.start_ms < lo or w.end_ms > hi:
            raise RecordingError(
                path,
                w.line,
                f"windows[{i}] {format_time(w.start_ms)}..{format_time(w.end_ms)} lies outside the data "
                f"replayed ({format_time(lo)}..{format_time(hi)})",
            )
    return start_ms, end_ms


def read_data(manifest: Manifest) -> list[Series]:
    """A manifest's data file, read and checked (errors name the data file and line)."""
    try:
        return read_series(manifest.data_path)
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(manifest.data_path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def load_recording(path: Path | str) -> Recording:
    """A validated recording: its manifest, its data, and its replay range."""
    manifest = load_manifest(path)
    return resolve(manifest, read_data(manifest))


def find_manifests(directory: Path | str) -> list[Path]:
    """Every manifest under a corpus directory, in a stable order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RecordingError(directory, 0, "no such directory of recordings" if not directory.exists() else "not a directory of recordings")
    found = sorted(p for p in directory.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
    if not found:
        raise RecordingError(directory, 0, "no recordings (*.yaml manifests) found")
    return found


def load_manifests(directory: Path | str) -> list[Manifest]:
    """Every manifest under a corpus directory, validated, without reading the data files (the
    replay lets promtool read the largest one; see ``engine.FileCase``)."""
    manifests: list[Manifest] = []
    seen: dict[str, Path] = {}
    for path in find_manifests(directory):
        manifest = load_manifest(path)
        if manifest.name in seen:
            raise RecordingError(
                path, manifest.lines.get("name", 1), f"name {manifest.name!r} is also used by {seen[manifest.name]}"
            )
        seen[manifest.name] = path
        manifests.append(manifest)
    return manifests


def load_corpus(directory: Path | str) -> list[Recording]:
    """Every recording under a directory; names must be unique across the corpus."""
    return [resolve(manifest, read_data(manifest)) for manifest in load_manifests(directory)]

def write_data(path: Path, series: Sequence[Series]) -> None:
    """A recording's OpenMetrics data: sorted, exact duplicates dropped, written atomically."""
    buffer = io.StringIO()
    write_series(normalise(series), buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, buffer.getvalue())


def write_manifest(out_dir: Path, manifest: Mapping[str, Any], *, header: str = "") -> Path:
    """``<name>.yaml`` in out_dir (its data file written already); ``header`` is a comment line."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / f"{manifest['name']}.yaml"
    text = yaml.safe_dump(dict(manifest), sort_keys=False, allow_unicode=True, width=100)
    write_atomically(manifest_path, (f"# {header}\n" if header else "") + text)
    return manifest_path


def write_recording(
    out_dir: Path, manifest: Mapping[str, Any], series: Sequence[Series], *, header: str = ""
) -> Path:
    """Write <name>.om (or the manifest's ``data``) and <name>.yaml into out_dir; returns the
    manifest path. The data goes first, so a manifest never points at a missing or partial file."""
    write_data(out_dir / str(manifest.get("data", f"{manifest['name']}.om")), series)
    return write_manifest(out_dir, manifest, header=header)
