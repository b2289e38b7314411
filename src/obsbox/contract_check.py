"""Which metric names a PromQL expression reads, and which of those the signal contract lacks.

Dashboards and alert rules may only read names that the instrumentation's signal contract
declares (``is_declared_series``: contract metrics and known exporters) or recording rules that
obsbox's own rule files define. Names are taken from the syntax tree built by promql-parser (a
port of the Prometheus parser), not by a regex over the text, because label values, function
names and ``by (...)`` clauses look just like metric names to a regex.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import promql_parser
import yaml
from obsbox_instrumentation.contract import TARGET_LABELS, is_declared_series, metric_by_prometheus_name

from obsbox.promql import UncheckableSelectorError as UncheckableSelectorError
from obsbox.promql import metric_names as metric_names
from obsbox.promql import parse


@dataclass(frozen=True)
class RuleExpression:
    """One alerting or recording rule's expression, with where it came from."""

    source: str
    group: str
    name: str
    kind: str  # "alert" or "record"
    expr: str


def undeclared_labels(expr: str) -> frozenset[tuple[str, str]]:
    """(metric, label) pairs where a selector on a contract metric matches a label it does not carry.

    A matcher on a label the metric never has selects nothing (``{tenant="a"}``) or everything
    (``{tenant=~".*"}``), silently; exporter metrics are not checked (their labels are theirs).
    """
    wrong: set[tuple[str, str]] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            spec = metric_by_prometheus_name(node.name)
            if spec is not None:
                allowed = {*spec.labels, *TARGET_LABELS, "__name__"}
                if node.name.endswith("_bucket") and node.name != spec.prometheus_name:
                    allowed.add("le")
                wrong.update((node.name, m.name) for m in node.matchers.matchers if m.name not in allowed)
        return True

    promql_parser.walk(parse(expr), visit)
    return frozenset(wrong)


def undeclared_names(expr: str, recording_rules: Collection[str] = ()) -> frozenset[str]:
    """Names the expression reads that are neither declared by the contract nor recording rules."""
    return frozenset(
        name for name in metric_names(expr) if not is_declared_series(name) and name not in recording_rules
    )


def rule_expressions(text: str, source: str) -> list[RuleExpression]:
    """Every rule expression of one Prometheus rule file's text, in file order."""
    document = yaml.safe_load(text) or {}
    found: list[RuleExpression] = []
    for group in document.get("groups") or []:
        for rule in group.get("rules") or []:
            kind = "alert" if "alert" in rule else "record"
            found.append(
                RuleExpression(
                    source=source,
                    group=str(group.get("name", "")),
                    name=str(rule[kind]),
                    kind=kind,
                    expr=str(rule["expr"]),
                )
            )
    return found


def read_rule_files(paths: Iterable[Path]) -> list[RuleExpression]:
    """Every rule expression of the given rule files, sorted by file name."""
    found: list[RuleExpression] = []
    for path in sorted(paths):
        found.extend(rule_expressions(path.read_text(encoding="utf-8"), str(path)))
    return found


def recording_rule_names(rules: Iterable[RuleExpression]) -> frozenset[str]:
    """The names recorded by the recording rules among ``rules``."""
    return frozenset(rule.name for rule in rules if rule.kind == "record")
