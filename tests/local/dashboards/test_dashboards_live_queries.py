"""Every dashboard query, run by a real Prometheus over contract-named data, returns data without error."""

from __future__ import annotations

import math

import pytest

from dashboards import build_all
from dashboards._queries import Query, interpolate, queries
from obsbox.replay.prometheus import PrometheusServer

MODELS = build_all()
PROM_QUERIES = [
    (query, interpolate(query.expr, MODELS[query.dashboard]))
    for model in MODELS.values()
    for query in queries(model)
    if query.datasource == "prometheus"
]


@pytest.mark.parametrize(("query", "expr"), PROM_QUERIES, ids=[str(q) for q, _ in PROM_QUERIES])
def test_dashboard_query_returns_data(query: Query, expr: str, prometheus: PrometheusServer, end_ms: int) -> None:
    """The panel's query, with the dashboard's default variable values, yields at least one finite value."""
    _, result = prometheus.query(expr, end_ms)
    values = [value for series in result for _, value in series.points]
    assert values, f"{query}: no series for {expr}"
    assert any(math.isfinite(v) for v in values), f"{query}: only NaN/Inf for {expr}: {values}"


def test_query_for_absent_series_returns_nothing(prometheus: PrometheusServer, end_ms: int) -> None:
    """A label value the data does not hold yields no series, so the check above can fail."""
    _, result = prometheus.query('http_server_request_duration_seconds_count{api_version="v0"}', end_ms)
    assert result == []
