"""Recordings: a YAML manifest plus OpenMetrics data, validated with errors naming file and line.

The manifest format is documented in the README (Rule tester: the recording format). The YAML is read with
``yaml.compose`` rather than ``safe_load`` so that every error can point at the line of the
offending key, and so that timestamps stay strings we parse ourselves (RFC 3339 or epoch).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from obsbox.replay.checkpoints import AlertCheck, ExpectedAlert
from obsbox.replay.model import Series
from obsbox.replay.openmetrics import read_series

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
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_UNITS_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class RecordingError(ValueError):
    """A bad recording; the message names the file and line."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        # Line 0: the problem is the file as a whole (missing, unreadable), not one of its lines.
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = str(path)
        self.line = line


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
    # Point checks: at a time, the firing alerts of one name are exactly these (checkpoints.py).
    alerts_at: Sequence[AlertCheck] = ()


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


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as 30s, 5m, 1h30m; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m or 1h30m")
    return sum(int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_S) if g)


def format_duration(seconds: float) -> str:
    """The shortest Prometheus-style spelling of a whole number of seconds (e.g. 1h30m)."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    whole = int(round(seconds))
    if whole == 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            out += f"{whole // size}{unit}"
            whole %= size
    return out


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch from RFC 3339 text or epoch seconds; ValueError otherwise."""
    text = text.strip()
    if _NUMBER.match(text):
        seconds = float(text)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"{text!r} is not a time")
        return round(seconds * 1000)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time or epoch seconds") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (write e.g. 2026-11-20T10:00:00Z)")
    return round(moment.timestamp() * 1000)


def format_time(ms: int) -> str:
    """RFC 3339 in UTC, as manifests and reports spell times."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    text = moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


class _Reader:
    """Walks composed YAML nodes, raising RecordingError with the node's line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, message: str) -> RecordingError:
        line = node.start_mark.line + 1 if node is not None else 1
        return RecordingError(self.path, line, message)

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, f"{what}: keys must be strings")
            if key in out:
                raise self.fail(key_node, f"{what}: {key!r} given twice")
            if key not in allowed:
                raise self.fail(key_node, f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
            out[key] = (key_node, value_node)
        return out

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null" or node.value == "":
            raise self.fail(node, f"{what} must be a non-empty string")
        return str(node.value)

    def choice(self, node: yaml.Node, what: str, choices: Sequence[str]) -> str:
        value = self.string(node, what)
        if value not in choices:
            raise self.fail(node, f"{what} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def time(self, node: yaml.Node, what: str) -> int:
        try:
            return parse_time_ms(self.string(node, what))
        except ValueError as exc:
            raise self.fail(node, f"{what}: {exc}") from None

    def duration(self, node: yaml.Node, what: str) -> float:
        try:
            return parse_duration(self.string(node, what))
        except ValueError as exc:
            raise self.fail(node, f"{what}: {exc}") from None

    def labels(self, node: yaml.Node, what: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of label names to values")
        out: dict[str, str] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(value_node, yaml.ScalarNode):
                raise self.fail(key_node, f"{what}: label names and values must be strings")
            out[str(key_node.value)] = str(value_node.value)
        return out


def _compose(path: Path) -> yaml.Node:
    try:
        with open(path, encoding="utf-8") as handle:
            root = yaml.compose(handle)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise RecordingError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if root is None:
        raise RecordingError(path, 1, "the manifest is empty")
    return root


def load_manifest(path: Path | str) -> Manifest:
    """Parse and validate a manifest on its own (the data file is only checked to exist)."""
    path = Path(path)
    r = _Reader(path)
    root = _compose(path)
    top = r.mapping(root, "manifest", _TOP_KEYS)
    lines = {key: k.start_mark.line + 1 for key, (k, _) in top.items()}
    for required in ("name", "kind", "description", "source"):
        if required not in top:
            raise r.fail(root, f"missing required key {required!r}")
    name = r.string(top["name"][1], "name")
    if name != path.stem:
        raise r.fail(top["name"][1], f"name {name!r} must equal the file stem {path.stem!r}")
    kind = r.choice(top["kind"][1], "kind", KINDS)
    description = r.string(top["description"][1], "description")
    source = r.choice(top["source"][1], "source", SOURCES)
    source_detail = r.string(top["source_detail"][1], "source_detail") if "source_detail" in top else None

    if "data" in top:
        data_node = top["data"][1]
        data_path = path.parent / r.string(data_node, "data")
    else:
        data_node = root
        data_path = path.with_suffix(".om")
    if not data_path.is_file():
        raise r.fail(data_node, f"data file {data_path} does not exist")

    start_ms = r.time(top["start"][1], "start") if "start" in top else None
    end_ms = r.time(top["end"][1], "end") if "end" in top else None
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise r.fail(top["end"][1], f"end {format_time(end_ms)} is not after start {format_time(start_ms)}")

    windows: list[Window] = []
    for i, node in enumerate(r.sequence(top["windows"][1], "windows") if "windows" in top else []):
        what = f"windows[{i}]"
        w = r.mapping(node, what, {"start", "end"})
        for required in ("start", "end"):
            if required not in w:
                raise r.fail(node, f"{what}: missing {required!r}")
        w_start = r.time(w["start"][1], f"{what}.start")
        w_end = r.time(w["end"][1], f"{what}.end")
        if w_start >= w_end:
            raise r.fail(w["end"][1], f"{what}: end {format_time(w_end)} is not after start {format_time(w_start)}")
        windows.append(Window(w_start, w_end, node.start_mark.line + 1))
    if kind == "incident" and not windows:
        raise r.fail(top["windows"][0] if "windows" in top else root, "an incident needs at least one impact window")
    if kind == "noise" and windows:
        raise r.fail(top["windows"][0], "a noise recording has no impact windows")

    fire: list[FireExpectation] = []
    alerts_at: list[AlertCheck] = []
    quiet: list[str] = [PAGE_SEVERITY] if kind == "noise" else []
    if "expect" in top:
        expect_node = top["expect"][1]
        expect = r.mapping(expect_node, "expect", {"fire", "quiet_severities", "alerts_at"})
        for i, node in enumerate(r.sequence(expect["alerts_at"][1], "expect.alerts_at") if "alerts_at" in expect else []):
            alerts_at.append(_alert_check(r, node, f"expect.alerts_at[{i}]"))
        for i, node in enumerate(r.sequence(expect["fire"][1], "expect.fire") if "fire" in expect else []):
            fire.append(_fire_expectation(r, node, f"expect.fire[{i}]"))
        if "quiet_severities" in expect:
            quiet = [
                r.string(n, "expect.quiet_severities[]")
                for n in r.sequence(expect["quiet_severities"][1], "expect.quiet_severities")
            ]
        if kind == "noise" and fire:
            raise r.fail(expect["fire"][0], "a noise recording cannot expect alerts to fire")
    if kind == "incident" and not fire:
        raise r.fail(top["expect"][0] if "expect" in top else root, "an incident needs expect.fire entries")

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
        alerts_at=tuple(alerts_at),
    )


def _alert_check(r: _Reader, node: yaml.Node, what: str) -> AlertCheck:
    e = r.mapping(node, what, {"at", "alert", "alerts"})
    for required in ("at", "alert", "alerts"):
        if required not in e:
            raise r.fail(node, f"{what}: missing {required!r}")
    alerts = []
    for i, a_node in enumerate(r.sequence(e["alerts"][1], f"{what}.alerts")):
        a = r.mapping(a_node, f"{what}.alerts[{i}]", {"labels", "annotations"})
        alerts.append(
            ExpectedAlert(
                labels=r.labels(a["labels"][1], f"{what}.alerts[{i}].labels") if "labels" in a else {},
                annotations=r.labels(a["annotations"][1], f"{what}.alerts[{i}].annotations") if "annotations" in a else None,
            )
        )
    return AlertCheck(
        at_ms=r.time(e["at"][1], f"{what}.at"),
        alert=r.string(e["alert"][1], f"{what}.alert"),
        alerts=tuple(alerts),
        line=node.start_mark.line + 1,
    )


def _fire_expectation(r: _Reader, node: yaml.Node, what: str) -> FireExpectation:
    e = r.mapping(node, what, {"alert", "severity", "within", "labels"})
    if ("alert" in e) == ("severity" in e):
        raise r.fail(node, f"{what}: give exactly one of 'alert' or 'severity'")
    if "within" not in e:
        raise r.fail(node, f"{what}: missing 'within' (a duration such as 10m)")
    return FireExpectation(
        within_s=r.duration(e["within"][1], f"{what}.within"),
        alert=r.string(e["alert"][1], f"{what}.alert") if "alert" in e else None,
        severity=r.string(e["severity"][1], f"{what}.severity") if "severity" in e else None,
        labels=r.labels(e["labels"][1], f"{what}.labels") if "labels" in e else {},
        line=node.start_mark.line + 1,
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
    recordings: list[Recording] = []
    seen: dict[str, Path] = {}
    for path in find_manifests(directory):
        recording = load_recording(path)
        if recording.name in seen:
            raise RecordingError(
                path, recording.manifest.lines.get("name", 1), f"name {recording.name!r} is also used by {seen[recording.name]}"
            )
        seen[recording.name] = path
        recordings.append(recording)
    return recordings
