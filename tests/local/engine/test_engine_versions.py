"""Replay verdicts that differ between Prometheus 2.42 and 3.x, each explained, asserted for each
engine version and judged by the promtool of that version."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.promtool.export import ExportCase, export_promtool
from obsbox.replay.engine import EngineError, FileCase, evaluate, evaluate_many
from obsbox.replay.model import AlertRuleResult, Evaluation, Series, stale
from obsbox.replay.openmetrics import read_series
from tests.engines import Engine

MIN = 60_000


def _firing(ev: Evaluation) -> list[tuple[int, int]]:
    (rule,) = ev.rules
    return [interval for alert in rule.alerts for interval in alert.firing_intervals(ev.timestamps_for(rule))]


def _promtool_agrees(engine: Engine, rules: Path, ev: Evaluation, series: list[Series], tmp_path: Path) -> None:
    out = tmp_path / "export.yml"
    export_promtool([rules], [ExportCase(ev, series, "versions")], out)
    check = subprocess.run(
        [engine.promtool, "test", "rules", out.name], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_range_selector_left_edge(engine: Engine, write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """`count_over_time(up[5m]) >= 6` on a sample every minute fires on 2.42 and never on 3.x.

    A range selector `[5m]` at time t reads [t-5m, t] in Prometheus 2.x, six samples here, and
    (t-5m, t] in 3.x (left-open since 3.0), five: the sample exactly 5m old is no longer counted.
    """
    rules = write_rules(
        "groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: SixSamples\n    expr: count_over_time(up[5m]) >= 6\n"
    )
    series = [Series({"__name__": "up", "job": "a"}, [i * MIN for i in range(21)], [1.0] * 21)]
    ev = evaluate([rules], series, 0, 20 * MIN)
    expected = {2: [(5 * MIN, 20 * MIN)], 3: []}[engine.major]
    assert _firing(ev) == expected
    _promtool_agrees(engine, rules, ev, series, tmp_path)


def test_lookback_window_left_edge(engine: Engine, write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """`up == 0` after the last sample keeps firing one evaluation longer on 2.42 than on 3.x.

    An instant selector at t sees the newest sample in the lookback window, [t-5m, t] in 2.x and
    (t-5m, t] in 3.x: a sample exactly 5 minutes old still counts on 2.42, not on 3.x, so an alert
    on a target that stopped reporting ends at +5m on 2.42 and at +4m on 3.x (1m evaluations).
    """
    rules = write_rules("groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: Down\n    expr: up == 0\n")
    series = [Series({"__name__": "up", "job": "a"}, [i * MIN for i in range(3)], [1.0, 0.0, 0.0])]
    ev = evaluate([rules], series, 0, 12 * MIN)
    expected = {2: [(1 * MIN, 7 * MIN)], 3: [(1 * MIN, 6 * MIN)]}[engine.major]
    assert _firing(ev) == expected
    _promtool_agrees(engine, rules, ev, series, tmp_path)


YEAR_2200_MS = 7_258_118_400_000
FUTURE_RULES = """groups:
- name: g
  interval: 1m
  rules:
  - record: job:x:sum
    expr: sum by (job) (x)
  - alert: XHigh
    expr: job:x:sum > 0
"""


def test_rule_results_later_than_the_clock(engine: Engine, write_rules: Callable[[str], Path]) -> None:
    """Rule results in the year 2200 are written back and read on both versions.

    Prometheus 3.x refuses remote-written samples more than 10 minutes ahead of its clock (2.42
    takes any time), so on 3.x the engine backfills those as blocks and restarts Prometheus over
    them; the verdict is the same on both.
    """
    stamps = [YEAR_2200_MS + i * MIN for i in range(11)]
    series = [Series({"__name__": "x", "job": "a"}, stamps, [1.0] * 11)]
    ev = evaluate([write_rules(FUTURE_RULES)], series, stamps[0], stamps[-1])
    assert _firing(ev) == [(stamps[0], stamps[-1])]


def test_staleness_marker_later_than_the_clock(engine: Engine, write_rules: Callable[[str], Path]) -> None:
    """A staleness marker in the year 2200 ends the series on 2.42 and is refused on 3.x.

    3.x takes samples that far ahead only as backfilled blocks, and a block made from OpenMetrics
    text cannot hold the marker: the engine says so instead of giving a different answer.
    """
    stamps = [YEAR_2200_MS + i * MIN for i in range(6)]
    series = [Series({"__name__": "x", "job": "a"}, stamps, [1.0, 1.0, 1.0, stale(), 1.0, 1.0])]
    rules = write_rules(FUTURE_RULES)
    if engine.major >= 3:
        with pytest.raises(EngineError, match="staleness marker .* later than Prometheus 3 takes"):
            evaluate([rules], series, stamps[0], stamps[-1])
    else:
        ev = evaluate([rules], series, stamps[0], stamps[-1])
        assert _firing(ev) == [(stamps[0], stamps[2]), (stamps[4], stamps[5])]


LE_RULES = """groups:
- name: g
  interval: 1m
  rules:
  - alert: BucketAsWritten
    expr: h_bucket{le="1"} > 0
  - alert: BucketNormalised
    expr: h_bucket{le="1.0"} > 0
"""


def _histogram_file(path: Path, start_s: int, minutes: int) -> FileCase:
    lines = ["# TYPE h histogram"]
    for i in range(minutes):
        t = start_s + 60 * i
        lines += [f'h_bucket{{le="1"}} {i + 1} {t}', f'h_bucket{{le="+Inf"}} {i + 1} {t}', f"h_count {i + 1} {t}"]
    path.write_text("\n".join(lines) + "\n# EOF\n", encoding="utf-8")
    return FileCase(path, lambda: read_series(path), lambda low, high: (low, high))


def test_le_label_values_are_normalised_on_3(engine: Engine, write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """A histogram bucket written `le="1"` in a recording is `le="1"` on 2.42 and `le="1.0"` on 3.x.

    Prometheus 3's OpenMetrics parser (scrapes and the backfiller alike) rewrites the `le` of
    histograms and the `quantile` of summaries as floats, so a rule selecting `le="1"` goes quiet
    on 3.x; the engine gives that answer both for the recording promtool backfills as it is (the
    largest) and for the one obsbox's reader reads (the other).
    """
    rules = write_rules(LE_RULES)
    big = _histogram_file(tmp_path / "big.om", 1_700_000_000, 30)
    small = _histogram_file(tmp_path / "small.om", 1_700_000_000, 10)
    evaluations = evaluate_many([rules], [big, small])
    fired = [{r.name for r in ev.rules if any(_firing_rule(ev, r))} for ev in evaluations]
    expected = {2: {"BucketAsWritten"}, 3: {"BucketNormalised"}}[engine.major]
    assert fired == [expected, expected]


def _firing_rule(ev: Evaluation, rule: AlertRuleResult) -> list[tuple[int, int]]:
    return [i for alert in rule.alerts for i in alert.firing_intervals(ev.timestamps_for(rule))]
