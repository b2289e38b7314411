"""Grafana variable interpolation and query extraction used by the dashboard checks."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards._queries import BUILTINS, interpolate, label_values_query, referenced_variables

MODEL: dict[str, Any] = {
    "uid": "example",
    "templating": {
        "list": [
            {"name": "job", "type": "query", "allValue": ".*", "current": {"value": "$__all"}},
            {"name": "version", "type": "query", "current": {"value": "v1"}},
            {"name": "pair", "type": "custom", "current": {"value": ["a", "b"]}},
        ]
    },
}


def test_all_selection_becomes_the_all_value() -> None:
    """A variable with "All" selected is replaced by its all value."""
    assert interpolate('up{job=~"$job"}', MODEL) == 'up{job=~".*"}'


def test_single_and_multi_selections_are_substituted() -> None:
    """One value is substituted as is, several as a regex alternation, in every spelling."""
    assert interpolate('x{v="${version}", p=~"[[pair]]"}', MODEL) == 'x{v="v1", p=~"(a|b)"}'


def test_rate_interval_becomes_a_duration() -> None:
    """$__rate_interval is replaced by the check duration."""
    assert interpolate("rate(x[$__rate_interval])", MODEL) == f"rate(x[{BUILTINS['__rate_interval']}])"


def test_undefined_variable_is_an_error() -> None:
    """A variable the dashboard does not define raises KeyError naming it."""
    with pytest.raises(KeyError, match=r"\$tenant"):
        interpolate('x{tenant="$tenant"}', MODEL)


def test_referenced_variables_lists_each_name() -> None:
    """Every spelling of a variable reference is found."""
    assert referenced_variables("$a ${b:regex} [[c]] $__range") == {"a", "b", "c", "__range"}


def test_label_values_query_is_split() -> None:
    """label_values(selector, label) yields the selector and the label."""
    variable = {"type": "query", "query": 'label_values(up{job=~"$job"}, instance)'}
    assert label_values_query(variable) == ('up{job=~"$job"}', "instance")
