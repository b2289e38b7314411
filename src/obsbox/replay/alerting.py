"""The alerting state machine of Prometheus' rules/alerting.go, as a pure function.

The rules below are those of 2.42 and of 3.5 alike (3.x changed PromQL's window edges, which the
engine's Prometheus answers for, not this state machine). Prometheus evaluates the expression; this only decides, evaluation after evaluation, which alert
instances are pending, firing or gone:

- a label set seen for the first time (or again after it was resolved) becomes pending with
  ``activeAt`` = now;
- a pending alert fires at the first evaluation where ``now - activeAt >= for``;
- a pending alert whose label set is missing from one evaluation is dropped at once;
- a firing alert whose label set is missing keeps firing while ``now - keepFiringSince <
  keep_firing_for`` (``keepFiringSince`` is the first evaluation it was missing), then resolves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from obsbox.replay.model import AlertState, AlertTimeline, Series, label_key, stale

LabelKey = tuple[tuple[str, str], ...]


class AlertSample(NamedTuple):
    """One element of the expression's result at one evaluation, as an alert sees it."""

    labels: Mapping[str, str]  # expression labels without __name__, plus rule labels, plus alertname
    value: float
    expr_labels: Mapping[str, str]  # the expression's output labels as returned


@dataclass
class _Active:
    labels: Mapping[str, str]
    active_at: int
    state: AlertState
    value: float
    keep_firing_since: int | None = None


def run_state_machine(
    timestamps_ms: Sequence[int],
    results: Sequence[Mapping[LabelKey, AlertSample]],
    *,
    for_ms: int,
    keep_firing_for_ms: int,
) -> list[AlertTimeline]:
    """Alert timelines from the expression's results at each evaluation.

    ``results[i]`` maps each alert label set (already with rule labels and alertname) to its
    sample at ``timestamps_ms[i]``.
    """
    active: dict[LabelKey, _Active] = {}
    states: dict[LabelKey, list[AlertState]] = {}
    values: dict[LabelKey, list[float | None]] = {}
    labels_of: dict[LabelKey, Mapping[str, str]] = {}
    expr_labels_of: dict[LabelKey, Mapping[str, str]] = {}

    def _new_row(key: LabelKey, labels: Mapping[str, str]) -> None:
        states[key] = [AlertState.INACTIVE] * len(timestamps_ms)
        values[key] = [None] * len(timestamps_ms)
        labels_of[key] = labels

    for i, (ts, result) in enumerate(zip(timestamps_ms, results)):
        for key, (labels, value, _) in result.items():
            alert = active.get(key)
            if alert is not None and alert.state is not AlertState.INACTIVE:
                alert.value = value
                continue
            active[key] = _Active(labels, ts, AlertState.PENDING, value)
        for key in list(active):
            alert = active[key]
            if key not in result:
                keep_firing = False
                if alert.state is AlertState.FIRING and keep_firing_for_ms > 0:
                    if alert.keep_firing_since is None:
                        alert.keep_firing_since = ts
                    keep_firing = ts - alert.keep_firing_since < keep_firing_for_ms
                if not keep_firing:
                    # Resolved alerts are kept only to notify Alertmanager; they never return to
                    # pending or firing, so for the timeline they are gone.
                    del active[key]
                    continue
            else:
                alert.keep_firing_since = None
            if alert.state is AlertState.PENDING and ts - alert.active_at >= for_ms:
                alert.state = AlertState.FIRING
        for key, alert in active.items():
            if key not in states:
                _new_row(key, alert.labels)
            states[key][i] = alert.state
        for key, sample in result.items():
            if key not in values:
                _new_row(key, sample.labels)
            values[key][i] = sample.value
            expr_labels_of[key] = sample.expr_labels
    return [
        AlertTimeline(dict(labels_of[k]), tuple(states[k]), tuple(values[k]), dict(expr_labels_of.get(k, {})))
        for k in sorted(states)
    ]


def alerts_series(timelines: Sequence[AlertTimeline], timestamps_ms: Sequence[int]) -> list[Series]:
    """The ``ALERTS`` and ``ALERTS_FOR_STATE`` series Prometheus writes for these timelines,
    with staleness markers where they stop."""
    per_series: dict[LabelKey, tuple[dict[str, str], list[float | None]]] = {}

    def put(labels: dict[str, str], i: int, value: float) -> None:
        entry = per_series.setdefault(label_key(labels), (labels, [None] * len(timestamps_ms)))
        entry[1][i] = value

    for timeline in timelines:
        active_at: int | None = None
        for i, state in enumerate(timeline.states):
            if state is AlertState.INACTIVE:
                active_at = None
                continue
            if active_at is None:
                active_at = timestamps_ms[i]
            put({**timeline.labels, "__name__": "ALERTS", "alertstate": state.value}, i, 1.0)
            # The time the alert became active, in seconds: what Prometheus restores `for` from.
            put({**timeline.labels, "__name__": "ALERTS_FOR_STATE"}, i, active_at / 1000)
    return [with_stale_markers(labels, timestamps_ms, vals) for labels, vals in per_series.values()]


def with_stale_markers(labels: Mapping[str, str], timestamps_ms: Sequence[int], vals: Sequence[float | None]) -> Series:
    """A rule output series: its values where present, and a staleness marker at each evaluation
    where it disappeared (as Prometheus' rule group does for series a rule stopped returning)."""
    ts_out: list[int] = []
    v_out: list[float] = []
    previous_present = False
    for ts, v in zip(timestamps_ms, vals):
        if v is not None:
            ts_out.append(ts)
            v_out.append(v)
            previous_present = True
        elif previous_present:
            ts_out.append(ts)
            v_out.append(stale())
            previous_present = False
    return Series(dict(labels), ts_out, v_out)
