"""Every alerting and recording rule in alert_rules/ reads only declared names or obsbox's recording rules."""

from __future__ import annotations

from pathlib import Path

from obsbox.contract_check import RuleExpression, recording_rule_names, undeclared_names


def test_rule_files_exist(rule_files: list[Path]) -> None:
    """alert_rules/ holds at least one *.rules.yaml, so the check below cannot pass on nothing."""
    assert rule_files, "no alert_rules/*.rules.yaml found: the rule contract check has nothing to check"


def test_rules_read_only_declared_metrics(rule_files: list[Path], rules: list[RuleExpression]) -> None:
    """Each rule expression reads contract or exporter names, or names recorded by a rule in alert_rules/."""
    assert rule_files, "no alert_rules/*.rules.yaml found: the rule contract check has nothing to check"
    assert rules, f"{[str(p) for p in rule_files]} hold no rules"
    recorded = recording_rule_names(rules)
    undeclared = {
        f"{rule.source}: {rule.kind} {rule.name}": sorted(names)
        for rule in rules
        if (names := undeclared_names(rule.expr, recorded))
    }
    assert not undeclared, f"names outside the contract: {undeclared}"
