"""Differential check: obsbox's timelines on generated cases, exported, must pass promtool itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from obsbox.promtool.export import ExportCase, export_promtool
from obsbox.replay.engine import evaluate_many
from obsbox.replay.model import AlertState, Evaluation

Scenario = Any  # conftest.Scenario: a generated rule file and its cases
Promtool = Callable[[Path], subprocess.CompletedProcess[str]]

# The whole differential run (60 cases: 6 engine runs and 6 promtool runs) must stay well bounded.
TIME_BUDGET_S = 120


def _replay(scenario: Scenario, directory: Path, index: int) -> tuple[Path, list[Evaluation]]:
    rules = directory / f"rules{index}.yml"
    rules.write_text(scenario.rules_text, encoding="utf-8")
    evaluations = evaluate_many([rules], scenario.cases)
    out = directory / f"export{index}.yml"
    export_promtool(
        [rules],
        [ExportCase(e, c.series, f"case {index}.{i}") for i, (e, c) in enumerate(zip(evaluations, scenario.cases))],
        out,
    )
    return out, evaluations


def test_promtool_agrees_with_every_generated_case(scenarios: list[Scenario], tmp_path: Path, promtool_test: Promtool) -> None:
    """Every one of the 60 generated cases, exported as ALERTS tests, passes `promtool test rules`."""
    started = time.monotonic()
    total_cases = 0
    for index, scenario in enumerate(scenarios):
        out, evaluations = _replay(scenario, tmp_path, index)
        result = promtool_test(out)
        assert result.returncode == 0, f"promtool disagrees on {out}:\n{result.stderr[-3000:]}"
        total_cases += len(evaluations)
    assert total_cases >= 50
    assert time.monotonic() - started < TIME_BUDGET_S


def test_generated_cases_exercise_every_rule_and_state(scenarios: list[Scenario], tmp_path: Path) -> None:
    """The generated cases make every alert fire somewhere, drop pending alerts and use keep_firing_for."""
    fired: set[str] = set()
    dropped_pending = kept_firing = 0
    for index, scenario in enumerate(scenarios):
        _, evaluations = _replay(scenario, tmp_path, index)
        for ev in evaluations:
            for rule in ev.rules:
                for alert in rule.alerts:
                    states = list(alert.states)
                    if AlertState.FIRING in states:
                        fired.add(rule.name)
                    for before, after in zip(states, states[1:]):
                        dropped_pending += before is AlertState.PENDING and after is AlertState.INACTIVE
                    kept_firing += sum(
                        s is AlertState.FIRING and v is None for s, v in zip(states, alert.values)
                    )
    assert fired == {
        "HighRate",
        "PeakRate",
        "BigIncrease",
        "LoadHigh",
        "EitherHigh",
        "LoadWithoutTraffic",
        "RequestsMissing",
        "Stalled",
    }
    assert dropped_pending > 0 and kept_firing > 0


def test_promtool_rejects_a_wrong_timeline(scenarios: list[Scenario], tmp_path: Path, promtool_test: Promtool) -> None:
    """The check can fail: dropping one firing alert from the export makes promtool fail."""
    out, _ = _replay(scenarios[0], tmp_path, 0)
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    for group in doc["tests"]:
        tests = [t for t in group["promql_expr_test"] if t["exp_samples"]]
        if tests:
            tests[0]["exp_samples"].pop()
            break
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = promtool_test(out)
    assert result.returncode == 1 and 'ALERTS{alertstate=\\"firing\\"}' in result.stderr
