"""Fixtures of the dashboard and rule-file contract checks: promtool, built dashboards, rule files."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import build_all
from obsbox.contract_check import RuleExpression, read_rule_files


@pytest.fixture(scope="session")
def models() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model by uid."""
    return build_all()


@pytest.fixture(scope="session")
def rule_files(repo_root: Path) -> list[Path]:
    """obsbox's Prometheus rule files (alert_rules/*.rules.yaml), sorted."""
    return sorted((repo_root / "alert_rules").glob("*.rules.yaml"))


@pytest.fixture(scope="session")
def rules(rule_files: list[Path]) -> list[RuleExpression]:
    """Every alerting and recording rule expression of obsbox's rule files."""
    return read_rule_files(rule_files)


@pytest.fixture
def promtool_check_expressions(promtool: str, tmp_path: Path) -> Callable[[Mapping[str, str]], subprocess.CompletedProcess[str]]:
    """Runs `promtool check rules` on a rule file recording each named expression.

    promtool has no "check this expression" command; a recording rule per expression makes the
    real Prometheus parser (and its type checks: a range vector where an instant one belongs...)
    judge each one, and the record name says which expression failed.
    """

    def check(expressions: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        rule_file = tmp_path / "expressions.rules.yaml"
        group = {"name": "expressions", "rules": [{"record": n, "expr": e} for n, e in expressions.items()]}
        rule_file.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False), encoding="utf-8")
        return subprocess.run(
            [promtool, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=120, check=False
        )

    return check
