"""`le`/`quantile` label values as Prometheus 3's OpenMetrics parser writes them (Go's shortest %g)."""

from __future__ import annotations

import pytest

from obsbox.replay.tsdb import openmetrics_float

# Each pair checked against Go: strconv.FormatFloat(v, 'g', -1, 64), plus ".0" without "e" or ".".
GO_FORMATTED = [
    ("1", "1.0"), ("2.5", "2.5"), ("10", "10.0"), ("1e6", "1e+06"), ("1000000", "1e+06"),
    ("999999", "999999.0"), ("0.005", "0.005"), ("0.0001", "0.0001"), ("0.00001", "1e-05"),
    ("123456789", "1.23456789e+08"), ("1e21", "1e+21"), ("100000", "100000.0"), ("1.5e-7", "1.5e-07"),
    ("-3", "-3.0"), ("0", "0.0"), ("+Inf", "+Inf"), ("not-a-number", "not-a-number"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), GO_FORMATTED)
def test_label_float_matches_go(text: str, expected: str) -> None:
    """Each value is rewritten exactly as Prometheus 3.x rewrites it."""
    assert openmetrics_float(text) == expected
