"""Reading queries back out of built dashboards, and filling in their variables as Grafana does.

Checks run upstream tools (promtool, a real Prometheus) on the dashboards' PromQL, and those
tools know nothing of ``$job`` or ``$__rate_interval``; ``interpolate`` substitutes each variable
with the value Grafana would send for the dashboard's saved selection (the all value ``.*`` for
"All", the current value otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# $name, ${name}, ${name:format} and the legacy [[name]].
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>[a-zA-Z_]\w*)\)$")

# Grafana's built-in interval variables, with the values checks use: 5m is four 15s scrapes (what
# $__rate_interval becomes at the default scrape interval), 1h a plausible dashboard range.
BUILTINS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}


@dataclass(frozen=True)
class Query:
    """One target of one panel."""

    dashboard: str
    panel: str
    ref_id: str
    datasource: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-row panel, including panels nested in collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in model.get("panels", []):
        if panel.get("type") == "row":
            found.extend(panels(panel))
        else:
            found.append(panel)
    return found


def queries(model: dict[str, Any]) -> list[Query]:
    """Every target of every panel, with the uid of the datasource it queries."""
    found = []
    for panel in panels(model):
        for target in panel.get("targets", []):
            datasource = (target.get("datasource") or panel.get("datasource") or {}).get("uid", "")
            expr = target.get("expr") or target.get("query") or ""
            found.append(Query(model["uid"], panel["title"], target.get("refId", ""), datasource, expr))
    return found


def variables(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The dashboard's template variables by name."""
    return {v["name"]: v for v in model.get("templating", {}).get("list", [])}


def referenced_variables(expr: str) -> set[str]:
    """Names of the variables an expression refers to, built-ins included."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(expr)}


def variable_value(variable: dict[str, Any]) -> str:
    """The value Grafana substitutes for the variable's saved selection."""
    current = variable.get("current") or {}
    value = current.get("value", "")
    if value == "$__all" or value == ["$__all"]:
        return str(variable.get("allValue") or ".*")
    if isinstance(value, list):
        return "(" + "|".join(value) + ")" if len(value) > 1 else (value[0] if value else "")
    return str(value)


def interpolate(expr: str, model: dict[str, Any]) -> str:
    """The expression with every variable replaced; raises KeyError naming an undefined variable."""
    defined = variables(model)

    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in BUILTINS:
            return BUILTINS[name]
        if name not in defined:
            raise KeyError(f"{model.get('uid')}: variable ${name} is not defined")
        return variable_value(defined[name])

    return _VARIABLE.sub(replace, expr)


def label_values_query(variable: dict[str, Any]) -> tuple[str, str] | None:
    """(selector, label) of a ``label_values(selector, label)`` variable, else None."""
    query = variable.get("query")
    if variable.get("type") != "query" or not isinstance(query, str):
        return None
    match = _LABEL_VALUES.match(query.strip())
    return (match.group("selector"), match.group("label")) if match else None
