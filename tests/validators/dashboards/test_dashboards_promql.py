"""Every PromQL expression in the dashboards parses in Prometheus and reads only declared names."""

from __future__ import annotations

import re
from typing import Any

from dashboards._queries import Query, interpolate, queries
from obsbox.contract_check import RuleExpression, recording_rule_names, undeclared_names


def _prometheus_queries(models: dict[str, dict[str, Any]]) -> list[tuple[Query, str]]:
    """(query, expression with variables filled in) for every Prometheus target."""
    return [
        (query, interpolate(query.expr, model))
        for model in models.values()
        for query in queries(model)
        if query.datasource == "prometheus"
    ]


def _record_name(query: Query) -> str:
    # Recording rule names must be metric names; this one still says which panel it came from.
    return "dashboard_check:" + re.sub(r"\W+", "_", f"{query.dashboard}__{query.panel}__{query.ref_id}")


def test_dashboard_expressions_parse_in_promtool(models: dict[str, dict[str, Any]], promtool_check_expressions) -> None:
    """promtool check rules accepts a rule file recording every dashboard expression."""
    found = _prometheus_queries(models)
    expressions = {_record_name(query): expr for query, expr in found}
    assert len(expressions) == len(found), "two targets map to the same record name"
    result = promtool_check_expressions(expressions)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(expressions)} rules found" in result.stdout


def test_promtool_check_rejects_a_broken_expression(promtool_check_expressions) -> None:
    """The same check fails on an expression Prometheus cannot evaluate, so its pass means something."""
    result = promtool_check_expressions({"ok:x:rate5m": "rate(up[5m])", "broken:x:rate5m": "rate(up)"})
    assert result.returncode != 0
    assert "broken:x:rate5m" in result.stdout + result.stderr


def test_dashboards_read_only_declared_metrics(models: dict[str, dict[str, Any]], rules: list[RuleExpression]) -> None:
    """Every metric name a dashboard reads is in the signal contract, a known exporter, or an obsbox recording rule."""
    recorded = recording_rule_names(rules)
    undeclared = {
        str(query): sorted(names)
        for query, expr in _prometheus_queries(models)
        if (names := undeclared_names(expr, recorded))
    }
    assert not undeclared, f"names outside the contract: {undeclared}"
