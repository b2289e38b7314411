"""Metric-name extraction from PromQL and the contract check built on it."""

from __future__ import annotations

import pytest

from obsbox.contract_check import (
    UncheckableSelectorError,
    metric_names,
    recording_rule_names,
    rule_expressions,
    undeclared_labels,
    undeclared_names,
)


def test_names_come_from_selectors_not_from_text() -> None:
    """Label names, label values and function names that look like metrics are not taken as metrics."""
    expr = 'sum by (node_load1) (rate(orders_total{job="up", queue="rate"}[5m])) / on (job) group_left up'
    assert metric_names(expr) == {"orders_total", "up"}


def test_names_in_subqueries_and_offsets_are_found() -> None:
    """Selectors inside subqueries, offsets and nested calls are all found."""
    expr = "max_over_time(rate(a_total[1m])[1h:5m]) + b offset 1h + histogram_quantile(0.9, c_bucket)"
    assert metric_names(expr) == {"a_total", "b", "c_bucket"}


def test_name_matchers_count_as_names() -> None:
    """{__name__="x"} and a plain alternation {__name__=~"a|b"} name metrics."""
    assert metric_names('{__name__="x", job="j"} + {__name__=~"(a|b)"}') == {"x", "a", "b"}


def test_name_patterns_cannot_be_checked() -> None:
    """A name pattern could match anything, so it is refused rather than passed."""
    with pytest.raises(UncheckableSelectorError):
        metric_names('{__name__=~"node_.+"}')


def test_expression_that_does_not_parse_is_an_error() -> None:
    """Broken PromQL raises ValueError instead of yielding no names."""
    with pytest.raises(ValueError):
        metric_names("sum(rate(x[5m])")


def test_undeclared_names_are_reported() -> None:
    """Contract and exporter names pass; an unknown name is reported unless a recording rule defines it."""
    expr = "http_server_request_duration_seconds_count + node_load1 + http_requests_total + service:x:rate5m"
    assert undeclared_names(expr) == {"http_requests_total", "service:x:rate5m"}
    assert undeclared_names(expr, {"service:x:rate5m"}) == {"http_requests_total"}


def test_wrong_label_on_contract_metric_is_reported() -> None:
    """A matcher on a label the contract does not give the metric is reported; le only on buckets."""
    expr = 'rate(http_server_request_duration_seconds_count{tenant="a", le="1"}[5m])'
    assert undeclared_labels(expr) == {
        ("http_server_request_duration_seconds_count", "tenant"),
        ("http_server_request_duration_seconds_count", "le"),
    }
    assert undeclared_labels('obsbox_job_duration_seconds_bucket{le="1", queue="q", job="w"}') == set()


def test_rule_files_yield_alerts_and_recording_rules() -> None:
    """Both kinds of rule are read with their names; only recording rules define names."""
    text = """
groups:
  - name: g
    rules:
      - record: service:http_requests:rate5m
        expr: sum by (job) (rate(http_server_request_duration_seconds_count[5m]))
      - alert: HighErrors
        expr: service:http_requests:rate5m > 1
"""
    rules = rule_expressions(text, "x.rules.yaml")
    assert [(r.kind, r.name) for r in rules] == [("record", "service:http_requests:rate5m"), ("alert", "HighErrors")]
    assert recording_rule_names(rules) == {"service:http_requests:rate5m"}
