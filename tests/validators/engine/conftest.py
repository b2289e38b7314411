"""Fixtures for checking obsbox against promtool: peer-suite files and generated differential cases.

Every test here runs once per engine version (the pinned 3.x build and Debian's 2.42), judged by
the promtool of that same release.
"""

from __future__ import annotations

import functools
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from obsbox.replay.engine import Case
from obsbox.replay.model import Series, stale

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def _each_engine(engine: object) -> None:
    """Run each test of this directory on every engine version (conftest.engine)."""


def run_promtool_test(promtool: str, path: Path) -> subprocess.CompletedProcess[str]:
    """`promtool test rules FILE`, run from the file's directory as its README says."""
    return subprocess.run(
        [promtool, "test", "rules", path.name], cwd=path.parent, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def promtool_test(engine: Any) -> Promtool:
    """Run `promtool test rules` on a file with the promtool of the engine's own release: the judge."""
    return functools.partial(run_promtool_test, engine.promtool)


# --- differential cases -------------------------------------------------------------------------

STEP_MS = 15_000
CASE_STEPS = 60  # 15 minutes of data per case


@dataclass(frozen=True)
class Scenario:
    """A generated rule file and the random cases replayed through it."""

    rules_text: str
    cases: list[Case]


def generate_rules(rng: random.Random) -> str:
    """Recording and alert rules over req_total/load using rate, increase, avg_over_time, sum by,
    max, comparisons, and/or/unless and absent, with random thresholds, for and keep_firing_for;
    a recording rule reads another one, and alert labels are templated from $labels and $value."""
    fors = ["0s", "15s", "30s", "1m", "2m"]
    keeps = ["0s", "15s", "45s", "1m30s"]
    t_rate = rng.choice([0.2, 0.5, 1.0, 2.0])
    t_inc = rng.choice([5, 20, 60])
    t_load = rng.choice([3, 5, 7])
    return f"""groups:
- name: differential
  interval: 15s
  rules:
  - record: job:req:rate1m
    expr: sum by (job) (rate(req_total[1m]))
  - record: req:rate1m:max
    expr: max(job:req:rate1m)
  - alert: HighRate
    expr: job:req:rate1m > {t_rate}
    for: {rng.choice(fors)}
    keep_firing_for: {rng.choice(keeps)}
    labels:
      severity: page
      team: "team-{{{{ $labels.job }}}}"
  - alert: PeakRate
    expr: req:rate1m:max > {t_rate * 3}
    for: {rng.choice(fors)}
    labels:
      value: "{{{{ $value }}}}"
  - alert: BigIncrease
    expr: increase(req_total[2m]) > {t_inc}
    for: {rng.choice(fors)}
  - alert: LoadHigh
    expr: avg_over_time(load[1m]) > {t_load} and on(job) req_total
    for: {rng.choice(fors)}
    keep_firing_for: {rng.choice(keeps)}
  - alert: EitherHigh
    expr: max by (job) (load) > {t_load + 2} or sum by (job) (rate(req_total[1m])) > {t_rate * 2}
    for: {rng.choice(fors)}
  - alert: LoadWithoutTraffic
    expr: load > {t_load} unless on(job) rate(req_total[1m]) > 0
    keep_firing_for: {rng.choice(keeps)}
  - alert: RequestsMissing
    expr: absent(req_total{{job="a"}})
    for: {rng.choice(fors)}
  - alert: Stalled
    expr: rate(req_total[1m]) == 0
    for: {rng.choice(fors)}
    keep_firing_for: {rng.choice(keeps)}
"""


def _counter(rng: random.Random, offset_ms: int) -> tuple[list[int], list[float]]:
    ts: list[int] = []
    vs: list[float] = []
    value = float(rng.randint(0, 50))
    gap_until = -1
    for i in range(CASE_STEPS):
        if i < gap_until:
            continue
        roll = rng.random()
        if roll < 0.04:
            gap_until = i + rng.randint(2, 30)  # a scrape outage, sometimes past the lookback
            continue
        if roll < 0.08 and ts:
            ts.append(i * STEP_MS + offset_ms)
            vs.append(stale())  # the target went away
            gap_until = i + rng.randint(1, 8)
            continue
        if roll < 0.11:
            value = float(rng.randint(0, 3))  # counter reset (process restart)
        else:
            value += rng.choice([0, 0, 1, 3, 10, 40])
        ts.append(i * STEP_MS + offset_ms)
        vs.append(value)
    return ts, vs


def _gauge(rng: random.Random, offset_ms: int) -> tuple[list[int], list[float]]:
    ts: list[int] = []
    vs: list[float] = []
    level = rng.uniform(0, 10)
    for i in range(CASE_STEPS):
        roll = rng.random()
        if roll < 0.1:
            continue
        if roll < 0.13:
            ts.append(i * STEP_MS + offset_ms)
            vs.append(stale())
            continue
        level = min(12.0, max(0.0, level + rng.uniform(-2.5, 2.5)))
        ts.append(i * STEP_MS + offset_ms)
        vs.append(round(level, 2))
    return ts, vs


def generate_case(rng: random.Random) -> Case:
    """Counters and gauges for jobs a and b, with gaps, resets and staleness markers."""
    series = []
    for job in ("a", "b"):
        if rng.random() < 0.9:
            ts, vs = _counter(rng, rng.choice([0, 5_000]))
            if ts:
                series.append(Series({"__name__": "req_total", "job": job}, ts, vs))
        ts, vs = _gauge(rng, rng.choice([0, 5_000, 10_000]))
        if ts:
            series.append(Series({"__name__": "load", "job": job}, ts, vs))
    return Case(series, 0, (CASE_STEPS - 1) * STEP_MS)


@pytest.fixture(scope="session")
def scenarios() -> list[Scenario]:
    """Six rule variants with 10 random cases each: 60 differential cases, fixed seeds."""
    out = []
    for seed in (11, 22, 33, 44, 55, 66):
        rng = random.Random(seed)
        out.append(Scenario(generate_rules(rng), [generate_case(rng) for _ in range(10)]))
    return out
