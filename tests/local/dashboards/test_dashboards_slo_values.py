"""The SLO dashboard's numbers, computed by Prometheus from the recorded ratios, match the data."""

from __future__ import annotations

from typing import Any

import pytest

from dashboards import slo
from dashboards._queries import interpolate, queries, variables
from obsbox.replay.prometheus import PrometheusServer


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return slo.build()


def _panel_value(model: dict[str, Any], title: str, prometheus: PrometheusServer, at_ms: int) -> float:
    (query,) = [q for q in queries(model) if q.panel == title]
    _, result = prometheus.query(interpolate(query.expr, model), at_ms)
    assert len(result) == 1, f"{title}: expected one service, got {result}"
    return result[0].points[0][1]


def test_availability_is_the_share_of_non_5xx_requests(
    model: dict[str, Any], prometheus: PrometheusServer, end_ms: int, served_error_ratio: float
) -> None:
    """Availability (30d) equals one minus the generated 5xx share."""
    value = _panel_value(model, "Availability (30d)", prometheus, end_ms)
    assert value == pytest.approx(1 - served_error_ratio, rel=1e-6)


def test_burn_rate_divides_the_error_ratio_by_the_budget(
    model: dict[str, Any], prometheus: PrometheusServer, end_ms: int, served_error_ratio: float
) -> None:
    """Burn rate (1h) equals the 5xx share divided by 1 - the selected availability objective."""
    objective = float(variables(model)["availability_objective"]["current"]["value"])
    value = _panel_value(model, "Burn rate (1h)", prometheus, end_ms)
    assert value == pytest.approx(served_error_ratio / (1 - objective), rel=1e-6)
