"""The engine against a real Prometheus: alerts, recording rules fed back, chunking, staleness."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from obsbox.replay.engine import Case, evaluate, evaluate_many
from obsbox.replay.model import AlertState, Series, stale

STEP = 15_000

RULES = """
groups:
- name: g
  interval: 1m
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: JobDown
    expr: job:up:sum < 1
    for: 2m
    labels:
      severity: page
      value: "{{ $value }}"
"""


def _up(pattern: list[float]) -> list[Series]:
    return [Series({"__name__": "up", "job": "a"}, [i * STEP for i in range(len(pattern))], pattern)]


def test_alert_on_recorded_series_fires_after_for(write_rules: Callable[[str], Path]) -> None:
    """An alert reading a recording rule's output goes pending, then fires once `for` has passed."""
    data = [1.0] * 40 + [0.0] * 40 + [1.0] * 40
    ev = evaluate([write_rules(RULES)], _up(data), 0, 119 * STEP)
    (rule,) = ev.rules
    (alert,) = rule.alerts
    assert alert.labels == {"job": "a", "severity": "page", "value": "0", "alertname": "JobDown"}
    assert alert.firing_intervals(ev.timestamps_for(rule)) == [(720_000, 1_140_000)]
    assert alert.states[10] is AlertState.PENDING


def test_threshold_plot_holds_left_hand_side(write_rules: Callable[[str], Path]) -> None:
    """For 'A < 1' the result carries A's values at each evaluation and the threshold."""
    data = [1.0] * 40 + [0.0] * 40
    ev = evaluate([write_rules(RULES)], _up(data), 0, 79 * STEP)
    plot = ev.rules[0].plot
    assert plot is not None and plot.expr == "job:up:sum" and plot.op == "<" and plot.threshold == 1.0
    assert list(plot.series[0].values) == [1.0] * 10 + [0.0] * 10


def test_cases_side_by_side_match_separate_runs(write_rules: Callable[[str], Path]) -> None:
    """Several cases in one Prometheus give the same timelines as each case alone."""
    rules = write_rules(RULES)
    a = Case(_up([1.0] * 20 + [0.0] * 30), 0, 49 * STEP)
    b = Case(_up([0.0] * 50), 0, 49 * STEP)
    together = evaluate_many([rules], [a, b])
    alone = [evaluate([rules], c.series, c.start_ms, c.end_ms) for c in (a, b)]
    assert [[t.states for t in e.rules[0].alerts] for e in together] == [[t.states for t in e.rules[0].alerts] for e in alone]


def test_query_range_is_chunked_over_the_point_limit(write_rules: Callable[[str], Path]) -> None:
    """More than 11,000 evaluations of a group are evaluated in chunks, none missing."""
    rules = write_rules("groups:\n- name: fast\n  interval: 1s\n  rules:\n  - alert: Always\n    expr: vector(1)\n")
    ev = evaluate([rules], _up([1.0]), 0, 12_500_000)
    (alert,) = ev.rules[0].alerts
    assert len(ev.timestamps_for(ev.rules[0])) == 12_501
    assert all(s is AlertState.FIRING for s in alert.states)


def test_staleness_marker_ends_series_at_once(write_rules: Callable[[str], Path]) -> None:
    """A staleness marker hides the series from the next evaluation, a plain NaN does not."""
    rules = write_rules("groups:\n- name: g\n  interval: 15s\n  rules:\n  - alert: Present\n    expr: count(x) by (kind)\n")
    series = [
        Series({"__name__": "x", "kind": "stale"}, [0, STEP], [1.0, stale()]),
        Series({"__name__": "x", "kind": "nan"}, [0, STEP], [1.0, float("nan")]),
    ]
    ev = evaluate([rules], series, 0, 2 * STEP)
    states = {t.labels["kind"]: [s.value for s in t.states] for t in ev.rules[0].alerts}
    assert states == {"stale": ["firing", "inactive", "inactive"], "nan": ["firing", "firing", "firing"]}


def test_data_near_epoch_zero_is_served(write_rules: Callable[[str], Path]) -> None:
    """Samples from 1970 (promtool tests) are kept and served despite their age."""
    rules = write_rules("groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 1\n")
    ev = evaluate([rules], _up([1.0, 1.0]), 0, 60_000)
    assert [s.value for s in ev.rules[0].alerts[0].states] == ["firing", "firing"]


def test_unsorted_input_is_sorted_not_dropped(write_rules: Callable[[str], Path]) -> None:
    """Samples given out of order are all backfilled (promtool alone would drop them silently)."""
    rules = write_rules("groups:\n- name: g\n  rules:\n  - alert: Many\n    expr: count_over_time(up[10m]) >= 5\n")
    series = [Series({"__name__": "up"}, [240_000, 0, 60_000, 180_000, 120_000], [1.0] * 5)]
    ev = evaluate([rules], series, 240_000, 240_000)
    assert ev.rules[0].alerts[0].states[0] is AlertState.FIRING


def test_recorded_series_in_input_is_recomputed(write_rules: Callable[[str], Path]) -> None:
    """A recording that already holds a rule's output series is replayed with the rule's own values."""
    recorded = Series({"__name__": "job:up:sum", "job": "a"}, [i * STEP for i in range(40)], [5.0] * 40)
    ev = evaluate([write_rules(RULES)], _up([0.0] * 40) + [recorded], 0, 39 * STEP)
    (alert,) = ev.rules[0].alerts
    assert alert.states[-1] is AlertState.FIRING
