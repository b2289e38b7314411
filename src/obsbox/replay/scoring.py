"""Scores of alert rules against labelled recordings: pure functions of Evaluations and manifests.

Definitions (SRE workbook, "Alerting on SLOs"; spelled out in the README, "How the scores are defined"):

- A firing episode is a run of consecutive firing evaluations of one alert instance.
- A window's *catch span* runs from its start to the later of its end and its start plus the
  longest ``within`` of the recording's expectations: an alert that fires late because of its
  ``for:`` is still about the incident, so it is not counted as a false positive.
- precision: episodes overlapping a catch span of an incident window / all episodes (overall:
  leaving out info alerts, which notify no one).
- recall: windows where every expectation held / windows. Per rule: over the windows charged to
  the rule: those whose expectations name it by alertname, and those asking for its severity
  where the rule had data whose labels fit the expectation's (a rule cannot be blamed for an
  incident it could not see). A window naming the rule where its expression returned nothing
  counts as "no data", not as a miss.
- detection time: first firing at or after the window start (within the catch span) minus the
  window start; reset time: last firing of the episodes overlapping the catch span minus the
  window end (negative when the alert stopped before the incident ended). Per rule: over the
  windows charged to it.
- noise pages: episodes of page severity (critical) on noise recordings.

A denominator of 0 gives None (null in JSON, an em dash in tables), never 0 or 1.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from obsbox.formats import format_duration, format_time
from obsbox.replay.model import AlertRuleResult, Evaluation, Labelled
from obsbox.replay.recording import (
    PAGE_SEVERITY,
    SILENT_SEVERITIES,
    FireExpectation,
    Recording,
    Window,
)


@dataclass(frozen=True)
class Episode(Labelled):
    """One run of consecutive firing evaluations of one alert instance."""

    rule_key: tuple[str, str, str]  # (source_file, group, alertname)
    alertname: str
    labels: Mapping[str, str]
    start_ms: int
    end_ms: int
    relevant: bool  # overlaps the catch span of an incident window


@dataclass(frozen=True)
class ExpectationResult:
    expectation: FireExpectation
    met: bool
    detection_s: float | None  # None when no matching alert fired in the catch span


@dataclass(frozen=True)
class WindowResult:
    window: Window
    caught: bool
    detection_s: float | None
    reset_s: float | None
    expectations: Sequence[ExpectationResult]


@dataclass(frozen=True)
class RecordingResult:
    name: str
    kind: str
    source: str
    description: str
    start_ms: int
    end_ms: int
    windows: Sequence[WindowResult]
    episodes: Sequence[Episode]
    violations: Sequence[str]  # one sentence per failed expectation
    # Episodes of a quiet severity (pages on noise): each is also one of ``violations``; kept
    # apart so that reports can sum them up per rule instead of printing hundreds of lines.
    quiet_episodes: Sequence[Episode] = ()

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Stat:
    """Median and max of a list of durations in seconds; None for an empty list."""

    median: float | None
    max: float | None

    @staticmethod
    def of(values: Sequence[float]) -> Stat:
        if not values:
            return Stat(None, None)
        return Stat(float(statistics.median(values)), float(max(values)))


@dataclass(frozen=True)
class RuleScore:
    alert: str
    group: str
    source_file: str
    severity: str
    windows: int  # incident windows charged to this rule (see the module docstring)
    caught: int
    recall: float | None
    episodes: int
    relevant_episodes: int
    noise_episodes: int
    precision: float | None
    detection_s: Stat
    reset_s: Stat
    no_data_windows: int = 0  # windows naming the rule where its expression returned nothing
    has_data: bool | None = None  # data on some recording; None: cannot tell (no plot, never active)


@dataclass(frozen=True)
class QuietViolation:
    """One rule's episodes of a quiet severity (pages on noise, say), summed up."""

    alert: str
    severity: str
    episodes: int
    recordings: Sequence[str]
    kinds: frozenset[str]

    def describe(self) -> str:
        what = "pages" if self.severity == PAGE_SEVERITY else f"{self.severity} episodes"
        if self.episodes == 1:
            what = "page" if self.severity == PAGE_SEVERITY else f"{self.severity} episode"
        kind = f"{next(iter(self.kinds))} " if len(self.kinds) == 1 else ""
        n = len(self.recordings)
        return f"{self.alert}: {self.episodes} {what} on {n} {kind}recording{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Summary:
    windows: int
    caught: int
    recall: float | None
    episodes: int
    relevant_episodes: int
    precision: float | None
    noise_pages: int
    detection_s: Stat
    reset_s: Stat
    missed: int  # incident windows not caught
    failures: Sequence[str]  # one sentence per failed expectation, across all recordings
    recordings: int
    passed: bool
    quiet: Sequence[QuietViolation] = ()  # quiet-severity episodes per rule
    window_failures: Sequence[str] = ()  # the failures that are not quiet-severity episodes


@dataclass(frozen=True)
class Scores:
    summary: Summary
    rules: Sequence[RuleScore]
    recordings: Sequence[RecordingResult]
    score_by: str = "name"  # how expectations matched alerts: name, severity or labels


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def rule_key(rule: AlertRuleResult) -> tuple[str, str, str]:
    return (rule.source_file, rule.group, rule.name)


def catch_span(window: Window, fire: Sequence[FireExpectation]) -> tuple[int, int]:
    longest_ms = max((round(e.within_s * 1000) for e in fire), default=0)
    return window.start_ms, max(window.end_ms, window.start_ms + longest_ms)


def _overlaps(start_ms: int, end_ms: int, span: tuple[int, int]) -> bool:
    return start_ms <= span[1] and end_ms >= span[0]


def episodes_of(recording: Recording, evaluation: Evaluation) -> list[Episode]:
    """Every firing episode of every rule in an evaluation, marked relevant or not."""
    spans = (
        [catch_span(w, recording.manifest.fire) for w in recording.manifest.windows]
        if recording.kind == "incident"
        else []
    )
    out: list[Episode] = []
    for rule in evaluation.rules:
        timestamps = evaluation.timestamps_for(rule)
        for alert in rule.alerts:
            labels = dict(alert.labels)
            labels.setdefault("alertname", rule.name)
            for start, end in alert.firing_intervals(timestamps):
                relevant = any(_overlaps(start, end, span) for span in spans)
                out.append(Episode(rule_key(rule), rule.name, labels, start, end, relevant))
    out.sort(key=lambda e: (e.start_ms, e.alertname, sorted(e.labels.items())))
    return out


def first_firing_s(episodes: Sequence[Episode], span: tuple[int, int]) -> float | None:
    """Seconds from the span's start to the first firing inside it (0 if already firing)."""
    firsts = [max(e.start_ms, span[0]) for e in episodes if _overlaps(e.start_ms, e.end_ms, span)]
    return (min(firsts) - span[0]) / 1000 if firsts else None


def reset_s(episodes: Sequence[Episode], span: tuple[int, int], window: Window) -> float | None:
    """Seconds from the window's end to the last firing of the episodes overlapping the span."""
    lasts = [e.end_ms for e in episodes if _overlaps(e.start_ms, e.end_ms, span)]
    return (max(lasts) - window.end_ms) / 1000 if lasts else None


def _score_window(window: Window, fire: Sequence[FireExpectation], episodes: Sequence[Episode]) -> WindowResult:
    span = catch_span(window, fire)
    results = []
    matched: list[Episode] = []
    for expectation in fire:
        mine = [e for e in episodes if expectation.matches(e.labels)]
        matched.extend(mine)
        detection = first_firing_s(mine, catch_span(window, [expectation]))
        met = detection is not None and detection <= expectation.within_s
        results.append(ExpectationResult(expectation, met, detection))
    detections = [r.detection_s for r in results if r.detection_s is not None]
    return WindowResult(
        window=window,
        caught=all(r.met for r in results),
        detection_s=min(detections) if detections else None,
        reset_s=reset_s(matched, span, window),
        expectations=tuple(results),
    )


def _quiet_episodes(recording: Recording, episodes: Sequence[Episode]) -> list[Episode]:
    quiet = set(recording.manifest.quiet_severities)
    return [e for e in episodes if e.severity in quiet]


def _window_violations(recording: Recording, windows: Sequence[WindowResult]) -> list[str]:
    out = []
    for i, w in enumerate(windows):
        for r in w.expectations:
            if r.met:
                continue
            when = (
                "did not fire"
                if r.detection_s is None
                else f"fired only after {format_duration(r.detection_s)}"
            )
            out.append(
                f"{recording.name}: window {i} ({format_time(w.window.start_ms)}): "
                f"expected {r.expectation.describe()}, {when}"
            )
    return out


def _violations(recording: Recording, windows: Sequence[WindowResult], episodes: Sequence[Episode]) -> list[str]:
    out = _window_violations(recording, windows)
    for e in _quiet_episodes(recording, episodes):
        out.append(
            f"{recording.name}: {e.alertname} (severity {e.severity}) fired "
            f"{format_time(e.start_ms)}..{format_time(e.end_ms)}, but {e.severity} must stay quiet"
        )
    return out


def score_recording(recording: Recording, evaluation: Evaluation) -> RecordingResult:
    episodes = episodes_of(recording, evaluation)
    fire = recording.manifest.fire
    windows = [_score_window(w, fire, episodes) for w in recording.manifest.windows]
    m = recording.manifest
    return RecordingResult(
        name=m.name,
        kind=m.kind,
        source=m.source,
        description=m.description,
        start_ms=recording.start_ms,
        end_ms=recording.end_ms,
        windows=tuple(windows),
        episodes=tuple(episodes),
        violations=tuple(_violations(recording, windows, episodes)),
        quiet_episodes=tuple(_quiet_episodes(recording, episodes)),
    )


def rule_label_sets(rule: AlertRuleResult) -> list[dict[str, str]] | None:
    """The label sets a rule's expression returned on one recording (its alerts' labels, and the
    plotted left-hand side's series with the rule's labels added); [] when it returned nothing
    there; None when that cannot be told (no plot, and never pending or firing)."""
    sets = [dict(a.labels) for a in rule.alerts]
    if rule.plot is not None:
        for series in rule.plot.series:
            if any(v is not None for v in series.values):
                labels = {k: v for k, v in series.labels.items() if k != "__name__"}
                sets.append({**labels, **rule.labels, "alertname": rule.name})
        return sets
    return sets or None


def _could_see(expectation: FireExpectation, label_sets: list[dict[str, str]] | None, seen: bool | None) -> bool:
    """Whether a rule with this data could have met a severity expectation (labels fit)."""
    if label_sets is None:  # labels unknown: only an expectation without labels can be about it
        return bool(seen) and not expectation.labels
    return any(all(ls.get(k) == v for k, v in expectation.labels.items()) for ls in label_sets)


# Whether a rule's expression could see any series of a recording; None when it cannot be told.
DataCheck = Callable[[AlertRuleResult, Recording], "bool | None"]


def _score_rule(
    rule: AlertRuleResult,
    pairs: Sequence[tuple[Recording, Evaluation]],
    results: Sequence[RecordingResult],
    data_check: DataCheck | None = None,
) -> RuleScore:
    key = rule_key(rule)
    named = caught = episodes = relevant = noise = no_data = 0
    has_data: bool | None = None
    detections: list[float] = []
    resets: list[float] = []
    for (recording, evaluation), result in zip(pairs, results):
        mine = [e for e in result.episodes if e.rule_key == key]
        episodes += len(mine)
        relevant += sum(e.relevant for e in mine)
        this = next((r for r in evaluation.rules if rule_key(r) == key), None)
        label_sets = rule_label_sets(this) if this is not None else []
        seen: bool | None = bool(label_sets) if label_sets is not None else None
        # Reading the recording's series is only worth it where a window may be charged.
        concerned = recording.kind == "incident" and any(
            e.names_rule(rule.name, rule.severity) for e in recording.manifest.fire
        )
        if label_sets is None and this is not None and data_check is not None and concerned:
            seen = data_check(this, recording)
            if seen is False:
                label_sets = []
        if seen:
            has_data = True
        elif seen is False and has_data is None:
            has_data = False
        if recording.kind == "noise":
            noise += len(mine)
            continue
        fire = recording.manifest.fire
        by_name = [e for e in fire if e.alert is not None and e.alert == rule.name]
        by_severity = [
            e for e in fire if e.alert is None and e.names_rule(rule.name, rule.severity) and _could_see(e, label_sets, seen)
        ]
        naming = by_name + by_severity
        if not naming:
            continue
        for w in recording.manifest.windows:
            if not by_severity and label_sets == []:
                no_data += 1  # named, but its expression returned nothing on this recording
                continue
            named += 1
            span = catch_span(w, fire)
            detection = first_firing_s(mine, span)
            if detection is not None:
                detections.append(detection)
                reset = reset_s(mine, span, w)
                if reset is not None:
                    resets.append(reset)
            if any(_expectation_met_by(exp, mine, w) for exp in naming):
                caught += 1
    return RuleScore(
        alert=rule.name,
        group=rule.group,
        source_file=rule.source_file,
        severity=rule.severity,
        windows=named,
        caught=caught,
        recall=ratio(caught, named),
        episodes=episodes,
        relevant_episodes=relevant,
        noise_episodes=noise,
        precision=ratio(relevant, episodes),
        detection_s=Stat.of(detections),
        reset_s=Stat.of(resets),
        no_data_windows=no_data,
        has_data=has_data,
    )


def _expectation_met_by(expectation: FireExpectation, episodes: Sequence[Episode], window: Window) -> bool:
    mine = [e for e in episodes if expectation.matches(e.labels)]
    detection = first_firing_s(mine, catch_span(window, [expectation]))
    return detection is not None and detection <= expectation.within_s


def quiet_by_rule(results: Sequence[RecordingResult]) -> list[QuietViolation]:
    """Quiet-severity episodes summed up per rule (alertname and severity), most first."""
    counts: dict[tuple[str, str], list[int]] = {}
    where: dict[tuple[str, str], list[str]] = {}
    kinds: dict[tuple[str, str], set[str]] = {}
    for r in results:
        for e in r.quiet_episodes:
            k = (e.alertname, e.severity)
            counts.setdefault(k, [0])[0] += 1
            if r.name not in where.setdefault(k, []):
                where[k].append(r.name)
            kinds.setdefault(k, set()).add(r.kind)
    out = [QuietViolation(a, sev, counts[(a, sev)][0], tuple(where[(a, sev)]), frozenset(kinds[(a, sev)])) for a, sev in counts]
    return sorted(out, key=lambda q: (-q.episodes, q.alert))


def score(pairs: Sequence[tuple[Recording, Evaluation]], data_check: DataCheck | None = None) -> Scores:
    """Per-recording results, per-rule scores and the overall summary. ``data_check`` tells, for
    rules whose data the evaluation does not show, whether they could see the recording at all."""
    results = [score_recording(r, e) for r, e in pairs]
    rules: dict[tuple[str, str, str], AlertRuleResult] = {}
    for _, evaluation in pairs:
        for rule in evaluation.rules:
            rules.setdefault(rule_key(rule), rule)
    rule_scores = [_score_rule(rule, pairs, results, data_check) for rule in rules.values()]

    windows = [w for r in results for w in r.windows]
    # Info alerts (a Watchdog that always fires, say) notify no one: they do not dilute the
    # overall precision. Per-rule precision still counts them.
    episodes = [e for r in results for e in r.episodes if e.severity not in SILENT_SEVERITIES]
    caught = sum(w.caught for w in windows)
    relevant = sum(e.relevant for e in episodes)
    noise_pages = sum(1 for r in results if r.kind == "noise" for e in r.episodes if e.severity == PAGE_SEVERITY)
    summary = Summary(
        windows=len(windows),
        caught=caught,
        recall=ratio(caught, len(windows)),
        episodes=len(episodes),
        relevant_episodes=relevant,
        precision=ratio(relevant, len(episodes)),
        noise_pages=noise_pages,
        detection_s=Stat.of([w.detection_s for w in windows if w.detection_s is not None]),
        reset_s=Stat.of([w.reset_s for w in windows if w.reset_s is not None]),
        missed=len(windows) - caught,
        failures=tuple(v for r in results for v in r.violations),
        recordings=len(results),
        passed=all(r.passed for r in results),
        quiet=tuple(quiet_by_rule(results)),
        window_failures=tuple(
            v for r, (recording, _) in zip(results, pairs) for v in _window_violations(recording, r.windows)
        ),
    )
    return Scores(summary, tuple(rule_scores), tuple(results))
