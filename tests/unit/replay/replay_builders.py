"""Hand-made recordings and evaluations, so scoring and reports are tested without an engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from obsbox.replay.model import AlertRuleResult, AlertState, AlertTimeline, Evaluation, Series
from obsbox.replay.recording import FireExpectation, Manifest, Recording, Window

MIN = 60_000
F, P, N = AlertState.FIRING, AlertState.PENDING, AlertState.INACTIVE


def make_recording(
    name: str = "rec",
    kind: str = "incident",
    windows: Sequence[tuple[int, int]] = ((10 * MIN, 20 * MIN),),
    fire: Sequence[FireExpectation] = (FireExpectation(within_s=300, alert="HighErrors"),),
    quiet: Sequence[str] | None = None,
    start_ms: int = 0,
    end_ms: int = 60 * MIN,
) -> Recording:
    manifest = Manifest(
        path=Path(f"/corpus/{name}.yaml"),
        name=name,
        kind=kind,
        description=f"{name} for tests",
        source="generated",
        data_path=Path(f"/corpus/{name}.om"),
        windows=tuple(Window(s, e) for s, e in windows),
        fire=tuple(fire) if kind == "incident" else (),
        quiet_severities=tuple(quiet if quiet is not None else (["critical"] if kind == "noise" else [])),
    )
    series = [Series({"__name__": "x"}, [start_ms, end_ms], [1.0, 1.0])]
    return Recording(manifest, series, start_ms, end_ms)


def make_rule(
    name: str = "HighErrors",
    states: Sequence[AlertState] | Mapping[tuple[tuple[str, str], ...], Sequence[AlertState]] = (),
    severity: str = "critical",
    group: str = "g",
) -> AlertRuleResult:
    """A rule whose single alert (or alerts keyed by extra labels) has the given states."""
    per_alert = states if isinstance(states, Mapping) else ({(): states} if states else {})
    alerts = []
    for extra, sts in per_alert.items():
        labels = {"alertname": name, "severity": severity, **dict(extra)}
        alerts.append(AlertTimeline(labels, list(sts), [1.0 if s is not N else None for s in sts]))
    return AlertRuleResult(
        group=group,
        name=name,
        expr="errors > 0.1",
        for_s=0,
        keep_firing_for_s=0,
        labels={"severity": severity},
        annotations={},
        source_file="rules.yaml",
        interval_s=60,
        alerts=tuple(alerts),
    )


def make_evaluation(rules: Sequence[AlertRuleResult], n: int = 61, step_ms: int = MIN) -> Evaluation:
    groups = {r.group for r in rules} or {"g"}
    ts = [i * step_ms for i in range(n)]
    return Evaluation(start_ms=0, end_ms=ts[-1], timestamps_ms={g: ts for g in groups}, rules=tuple(rules))


def states_firing(n: int, runs: Sequence[tuple[int, int]], pending: Sequence[tuple[int, int]] = ()) -> list[AlertState]:
    """n states (one per minute), firing in each inclusive [a, b] minute run, pending in others."""
    out = [N] * n
    for a, b in pending:
        for i in range(a, b + 1):
            out[i] = P
    for a, b in runs:
        for i in range(a, b + 1):
            out[i] = F
    return out
