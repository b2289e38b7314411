"""The alerting state machine (Prometheus rules/alerting.go) as a pure function."""

from __future__ import annotations

from obsbox.replay.alerting import AlertSample, alerts_series, run_state_machine, with_stale_markers
from obsbox.replay.model import AlertState, is_stale, label_key

P, F, N = AlertState.PENDING, AlertState.FIRING, AlertState.INACTIVE
LABELS = {"alertname": "A", "job": "x"}
KEY = label_key(LABELS)


def _present(pattern: str) -> list[dict[tuple[tuple[str, str], ...], AlertSample]]:
    """One result per character: '1' means the expression returned the alert's labels."""
    return [{KEY: AlertSample(LABELS, 1.0, {"job": "x"})} if c == "1" else {} for c in pattern]


def _states(pattern: str, for_ms: int = 0, keep_ms: int = 0) -> list[AlertState]:
    stamps = [i * 60_000 for i in range(len(pattern))]
    timelines = run_state_machine(stamps, _present(pattern), for_ms=for_ms, keep_firing_for_ms=keep_ms)
    return list(timelines[0].states) if timelines else [N] * len(pattern)


def test_fires_once_for_has_passed_since_active_at() -> None:
    """An alert is pending from activeAt and fires at the first evaluation where now - activeAt >= for."""
    assert _states("11111", for_ms=120_000) == [P, P, F, F, F]


def test_zero_for_fires_at_first_evaluation() -> None:
    """Without `for` the alert fires at the first evaluation that returns it."""
    assert _states("110", for_ms=0) == [F, F, N]


def test_pending_dropped_after_one_missed_evaluation() -> None:
    """A pending alert missing from one evaluation is dropped, and starts over from a new activeAt."""
    assert _states("11011111", for_ms=180_000) == [P, P, N, P, P, P, F, F]


def test_keep_firing_for_holds_firing_after_condition_clears() -> None:
    """keep_firing_for keeps firing while now - keepFiringSince < keep_firing_for, then resolves."""
    assert _states("11000011", for_ms=0, keep_ms=120_000) == [F, F, F, F, N, N, F, F]


def test_keep_firing_for_resets_when_condition_returns() -> None:
    """A returning result resets keepFiringSince, so a flapping alert keeps firing throughout."""
    assert _states("1101101", keep_ms=120_000) == [F, F, F, F, F, F, F]


def test_keep_firing_for_does_not_apply_to_pending() -> None:
    """keep_firing_for only holds firing alerts: a pending alert that misses one evaluation is gone."""
    assert _states("1101", for_ms=120_000, keep_ms=600_000) == [P, P, N, P]


def test_values_are_recorded_where_the_expression_returned_the_alert() -> None:
    """The timeline's values are the expression's value where present and None elsewhere."""
    stamps = [0, 60_000, 120_000]
    results = [{KEY: AlertSample(LABELS, 0.5, {})}, {}, {KEY: AlertSample(LABELS, 2.0, {})}]
    timeline = run_state_machine(stamps, results, for_ms=0, keep_firing_for_ms=0)[0]
    assert list(timeline.values) == [0.5, None, 2.0]


def test_alerts_series_end_with_staleness_marker() -> None:
    """ALERTS series get a staleness marker at the evaluation where the alert left that state."""
    stamps = [i * 60_000 for i in range(4)]
    timelines = run_state_machine(stamps, _present("1110"), for_ms=60_000, keep_firing_for_ms=0)
    by_state = {s.labels["alertstate"]: s for s in alerts_series(timelines, stamps) if s.labels["__name__"] == "ALERTS"}
    pending, firing = by_state["pending"], by_state["firing"]
    assert list(pending.timestamps_ms) == [0, 60_000] and is_stale(pending.values[1])
    assert list(firing.timestamps_ms) == [60_000, 120_000, 180_000] and is_stale(firing.values[2])


def test_recording_output_gets_marker_only_at_disappearance() -> None:
    """A rule output series gets one staleness marker where it vanished, none while absent."""
    series = with_stale_markers({"__name__": "r"}, [0, 1, 2, 3, 4], [1.0, None, None, 2.0, None])
    assert list(series.timestamps_ms) == [0, 1, 3, 4]
    assert [is_stale(v) for v in series.values] == [False, True, False, True]


def test_alerts_for_state_holds_active_at_in_seconds() -> None:
    """ALERTS_FOR_STATE carries the alert's activeAt (seconds) while it is pending or firing."""
    stamps = [i * 60_000 for i in range(5)]
    timelines = run_state_machine(stamps, _present("01110"), for_ms=60_000, keep_firing_for_ms=0)
    (series,) = [s for s in alerts_series(timelines, stamps) if s.labels["__name__"] == "ALERTS_FOR_STATE"]
    assert list(series.timestamps_ms) == [60_000, 120_000, 180_000, 240_000]
    assert list(series.values[:3]) == [60.0, 60.0, 60.0] and is_stale(series.values[3])
