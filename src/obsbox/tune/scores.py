"""A variant's numbers over a set of recordings, the Pareto front, and the recommendation (pure).

The numbers are those of ``obsbox replay``'s per-rule scores (replay/scoring.py), for the tuned
alert only, every instance of it (every group that defines it) counted together:

- recall: incident windows charged to the alert where its expectations held, within their
  ``within`` time / windows charged to it;
- noise per week: the alert's episodes that are about no incident (every episode on a noise
  recording, and those on incident recordings that overlap no window's catch span) per week of
  such time recorded (noise recordings whole, incident recordings outside their catch spans);
  pages for a critical alert, tickets otherwise;
- detection median and max: first firing minus window start, over the charged windows it caught
  or fired late on; reset median: last firing minus window end.

The recommendation rule, stated in every output: every charged incident caught within its
expected time (the highest recall when none reaches 1), then the fewest noise episodes, then the
shortest worst detection, then the shortest median detection, then the variant closest to the
current rule (fewest changed parameters), then the variant's index (a fixed order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from obsbox.replay.model import AlertRuleResult, Evaluation
from obsbox.replay.recording import PAGE_SEVERITY, Recording
from obsbox.replay.scoring import Stat, catch_span, score

WEEK_MS = 7 * 86400_000

RECOMMENDATION_RULE = (
    "every charged incident caught within its expected time (else the highest recall), then the "
    "fewest noise episodes per week, then the shortest worst detection, then the shortest median "
    "detection, then the fewest changed parameters"
)


@dataclass(frozen=True)
class VariantScore:
    windows: int
    caught: int
    recall: float | None
    noise_episodes: int
    noise_weeks: float
    detection_s: Stat
    reset_s: Stat
    severity: str

    @property
    def noise_per_week(self) -> float | None:
        return self.noise_episodes / self.noise_weeks if self.noise_weeks else None

    @property
    def pages(self) -> bool:
        return self.severity == PAGE_SEVERITY


def renamed(result: AlertRuleResult, alert: str) -> AlertRuleResult:
    """A variant's result under the tuned alert's own name (manifests name that one)."""
    alerts = tuple(dataclasses.replace(a, labels={**a.labels, "alertname": alert}) for a in result.alerts)
    return dataclasses.replace(result, name=alert, alerts=alerts)


def merged(results: Sequence[AlertRuleResult]) -> AlertRuleResult:
    """The instances of one alert in several groups as one rule (same interval: SLO groups)."""
    if len(results) == 1:
        return results[0]
    alerts = tuple(a for r in results for a in r.alerts)
    return dataclasses.replace(results[0], alerts=alerts, plot=None)


def variant_score(
    alert: str,
    recordings: Sequence[Recording],
    evaluations: Sequence[Evaluation],
    results: Sequence[Sequence[AlertRuleResult]],
) -> VariantScore:
    """Score one variant: ``results[i]`` are its rule results (one per group) on recording i."""
    pairs = []
    for recording, evaluation, mine in zip(recordings, evaluations, results):
        rule = merged([renamed(r, alert) for r in mine])
        pairs.append((recording, dataclasses.replace(evaluation, rules=(rule,))))
    scores = score(pairs)
    rule_score = scores.rules[0] if scores.rules else None
    noise_ms = sum(quiet_time_ms(r) for r in recordings)
    severity = rule_score.severity if rule_score else ""
    if rule_score is None:
        return VariantScore(0, 0, None, 0, noise_ms / WEEK_MS, Stat(None, None), Stat(None, None), severity)
    false = sum(1 for r in scores.recordings for e in r.episodes if not e.relevant)
    return VariantScore(
        windows=rule_score.windows,
        caught=rule_score.caught,
        recall=rule_score.recall,
        noise_episodes=false,
        noise_weeks=noise_ms / WEEK_MS,
        detection_s=rule_score.detection_s,
        reset_s=rule_score.reset_s,
        severity=severity,
    )


def quiet_time_ms(recording: Recording) -> int:
    """Time of a recording that is about no incident: all of a noise recording, the replay range
    outside the windows' catch spans of an incident."""
    total = recording.end_ms - recording.start_ms
    if recording.kind == "noise":
        return total
    spans = sorted(catch_span(w, recording.manifest.fire) for w in recording.manifest.windows)
    covered = 0
    cursor = recording.start_ms
    for start, end in spans:
        start, end = max(start, cursor), min(end, recording.end_ms)
        if end > start:
            covered += end - start
            cursor = end
    return max(0, total - covered)


def _key(s: VariantScore, changed: int, index: int) -> tuple[float, ...]:
    inf = float("inf")
    recall = s.recall if s.recall is not None else 0.0
    return (
        -(1.0 if recall >= 1.0 else recall),
        s.noise_per_week if s.noise_per_week is not None else s.noise_episodes,
        s.detection_s.max if s.detection_s.max is not None else inf,
        s.detection_s.median if s.detection_s.median is not None else inf,
        changed,
        index,
    )


def recommend(scores: Sequence[VariantScore], changed: Sequence[int]) -> int:
    """The index of the recommended variant (see RECOMMENDATION_RULE)."""
    if not scores:
        raise ValueError("no variants to choose from")
    return min(range(len(scores)), key=lambda i: _key(scores[i], changed[i], i))


def _objectives(s: VariantScore) -> tuple[float, float, float]:
    inf = float("inf")
    return (
        -(s.recall or 0.0),
        float(s.noise_episodes),
        s.detection_s.max if s.detection_s.max is not None else inf,
    )


def pareto_front(scores: Sequence[VariantScore]) -> list[int]:
    """Indices of the variants no other beats on recall, noise and worst detection at once
    (identical scores: the first stands for them)."""
    objs = [_objectives(s) for s in scores]
    front = []
    for i, a in enumerate(objs):
        dominated = False
        for j, b in enumerate(objs):
            if j == i:
                continue
            if all(y <= x for x, y in zip(a, b)) and (any(y < x for x, y in zip(a, b)) or (b == a and j < i)):
                dominated = True
                break
        if not dominated:
            front.append(i)
    return front
