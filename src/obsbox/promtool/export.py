"""Writing a replay's alert timeline as a promtool unit-test file, so promtool can check obsbox.

Each exported test group holds the replay's input series in promtool's notation and, at every
evaluation, a ``promql_expr_test`` on ``ALERTS{alertstate="firing"}`` expecting exactly the alerts
obsbox found firing there. ``promtool test rules`` then evaluates the same rules with its own
engine and agrees or not.

promtool evaluates from t=0, every group at one evaluation_interval; so the export moves the
replay in time to start at 0 (``base_ms``: expressions reading absolute time, such as
``timestamp()``, ``time()`` or ``@``, see the moved times), and refuses rule groups with different
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import yaml

from obsbox.formats import format_duration_ms, format_number, write_atomically
from obsbox.replay.model import AlertState, Evaluation, Series, is_stale
from obsbox.replay.openmetrics import format_series_name


class ExportError(ValueError):
    """The replay cannot be expressed as a promtool test."""


ALERTS_QUERY = 'ALERTS{alertstate="firing"}'


def format_value(value: float) -> str:
    """A sample value in promtool's series notation, read back to the same float64."""
    if is_stale(value):
        return "stale"
    text = format_number(value)
    return "Inf" if text == "+Inf" else text


def format_values(timestamps_ms: Sequence[int], values: Sequence[float], interval_ms: int) -> str:
    """promtool's ``values`` string for samples at multiples of ``interval_ms`` from 0."""
    tokens: list[str] = []
    expected = 0
    for ts, value in zip(timestamps_ms, values):
        if ts % interval_ms:
            raise ExportError(f"sample at {ts} ms is not on the {interval_ms} ms grid")
        slot = ts // interval_ms
        if slot < expected:
            raise ExportError(f"samples out of order at {ts} ms")
        missing = slot - expected
        if missing == 1:
            tokens.append("_")
        elif missing > 1:
            tokens.append(f"_x{missing}")
        tokens.append(format_value(value))
        expected = slot + 1
    return " ".join(tokens)


def evaluation_interval_ms(evaluation: Evaluation) -> int:
    """The one interval all alerting groups share; promtool has no per-group interval."""
    intervals = {round(rule.interval_s * 1000) for rule in evaluation.rules}
    if len(intervals) > 1:
        raise ExportError(
            "promtool evaluates every rule group at one evaluation_interval; these groups use "
            + ", ".join(format_duration_ms(i) for i in sorted(intervals))
        )
    if intervals:
        return intervals.pop()
    stamps = next(iter(evaluation.timestamps_ms.values()), [])
    return stamps[1] - stamps[0] if len(stamps) > 1 else 60_000


def base_time(evaluation: Evaluation, series: Sequence[Series], interval_ms: int) -> int:
    """Where t=0 of the promtool test falls: the evaluation start moved back, on the evaluation
    grid, to cover the earliest sample."""
    first = min((s.timestamps_ms[0] for s in series if s.timestamps_ms), default=evaluation.start_ms)
    back = max(0, evaluation.start_ms - first)
    return evaluation.start_ms - math.ceil(back / interval_ms) * interval_ms


def firing_at(evaluation: Evaluation) -> dict[int, list[dict[str, str]]]:
    """For every evaluation timestamp, the label sets of the firing alerts (deduplicated)."""
    out: dict[int, dict[tuple[tuple[str, str], ...], dict[str, str]]] = {}
    for rule in evaluation.rules:
        stamps = evaluation.timestamps_for(rule)
        for ts in stamps:
            out.setdefault(ts, {})
        for timeline in rule.alerts:
            for ts, state in zip(stamps, timeline.states):
                if state is AlertState.FIRING:
                    labels = {**timeline.labels, "__name__": "ALERTS", "alertstate": "firing"}
                    out[ts][tuple(sorted(labels.items()))] = labels
    return {ts: list(v.values()) for ts, v in sorted(out.items())}


def test_group(evaluation: Evaluation, series: Sequence[Series], *, name: str = "") -> tuple[dict[str, Any], int]:
    """A promtool test group checking every evaluation of ``evaluation``, and its evaluation_interval."""
    interval = evaluation_interval_ms(evaluation)
    base = base_time(evaluation, series, interval)
    moved = [(s, [t - base for t in s.timestamps_ms]) for s in series if s.timestamps_ms]
    grid = reduce(math.gcd, (t for _, ts in moved for t in ts), interval)
    input_series = [
        {"series": format_series_name(s.labels), "values": format_values(ts, list(s.values), grid)} for s, ts in moved
    ]
    tests = []
    for ts, alerts in firing_at(evaluation).items():
        tests.append(
            {
                "expr": ALERTS_QUERY,
                "eval_time": format_duration_ms(ts - base),
                "exp_samples": [{"labels": format_series_name(a), "value": 1} for a in alerts],
            }
        )
    group: dict[str, Any] = {"interval": format_duration_ms(grid), "input_series": input_series, "promql_expr_test": tests}
    if name:
        group["name"] = name
    return group, interval


@dataclass(frozen=True)
class ExportCase:
    evaluation: Evaluation
    series: Sequence[Series]
    name: str = ""


def render_test_file(rule_files: Sequence[Path], cases: Sequence[ExportCase], *, relative_to: Path | None = None) -> str:
    """The promtool test file (YAML text) for these replays, one test group each."""
    groups = []
    intervals = set()
    for case in cases:
        group, interval = test_group(case.evaluation, case.series, name=case.name)
        groups.append(group)
        intervals.add(interval)
    if len(intervals) > 1:
        raise ExportError("the replays use different evaluation intervals; export them to separate files")
    files = []
    for path in rule_files:
        p = Path(path).resolve()
        if relative_to is not None:
            try:
                files.append(str(p.relative_to(relative_to.resolve())))
                continue
            except ValueError:
                pass
        files.append(str(p))
    doc: dict[str, Any] = {
        "rule_files": files,
        "evaluation_interval": format_duration_ms(intervals.pop() if intervals else 60_000),
        "tests": groups,
    }
    return "# Written by obsbox export-promtool: obsbox's alert timeline, for promtool to check.\n" + yaml.safe_dump(
        doc, sort_keys=False, width=1_000_000
    )


def export_promtool(rule_files: Sequence[Path], cases: Sequence[ExportCase], out: Path) -> Path:
    """Write the promtool test file for these replays to ``out`` (rule paths relative to it)."""
    text = render_test_file(rule_files, cases, relative_to=out.parent)
    write_atomically(out, text)
    return out
