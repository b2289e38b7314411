"""Every shipped alert follows the conventions in docs/architecture.md and links a runbook that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.rules.catalog import AlertDefinition, convention_problems, iter_alerts, rule_files

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
ALERTS = [a for f in rule_files(RULES_DIR) for a in iter_alerts(f)]


def test_rules_shipped_files_hold_alerts() -> None:
    """The shipped rule files exist and define alerts for every area of the issue."""
    names = {f.name for f in rule_files(RULES_DIR)}
    assert {
        "slo.rules.yaml",
        "jobs.rules.yaml",
        "tenants.rules.yaml",
        "hosts.rules.yaml",
        "stack.rules.yaml",
    } <= names
    assert len(ALERTS) >= 20


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: f"{a.file.name}:{a.name}:{a.index}")
def test_rules_alert_follows_conventions(alert: AlertDefinition) -> None:
    """The alert has a known severity, summary, description and a runbook_url to an existing runbook."""
    assert convention_problems(alert, REPO) == []


def test_rules_convention_check_names_missing_runbook(tmp_path: Path) -> None:
    """A rule whose runbook file is missing is reported with its file, group and field."""
    bad = tmp_path / "bad.rules.yaml"
    bad.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: vector(1)\n    labels: {severity: page}\n"
        "    annotations: {summary: s, runbook_url: 'https://github.com/obsbox/obsbox/blob/main/alert_rules/runbooks/nope.md'}\n"
    )
    problems = convention_problems(next(iter_alerts(bad)), tmp_path)
    assert any("labels.severity 'page'" in p for p in problems)
    assert any("annotations.description is missing" in p for p in problems)
    assert any("nope.md, which does not exist" in p and "group 'g'" in p for p in problems)


def test_rules_tenant_alerts_never_page() -> None:
    """Tenant alerts are tickets (warning), never pages."""
    tenant = [a for a in ALERTS if a.file.name == "tenants.rules.yaml"]
    assert tenant and {a.rule["labels"]["severity"] for a in tenant} == {"warning"}
