"""The alert input derived from the plot's query: ``LHS <op> number`` filtered as PromQL does."""

from __future__ import annotations

import math

import pytest

from obsbox.replay.engine import compare
from obsbox.replay.prometheus import QueryResult


@pytest.mark.parametrize(
    ("op", "kept"),
    [(">", [2.0]), ("<", [0.0]), (">=", [1.0, 2.0]), ("<=", [0.0, 1.0]), ("==", [1.0]), ("!=", [0.0, 2.0, "nan"])],
)
def test_compare_filters_points_like_promql(op: str, kept: list[float | str]) -> None:
    """Points where the comparison holds stay with their value and labels (name included); a NaN
    only passes '!=' (as in Go); a series with no point left is dropped."""
    rows = [
        QueryResult({"__name__": "x", "a": "1"}, [(0, 0.0), (1, 1.0), (2, 2.0), (3, math.nan)]),
        QueryResult({"__name__": "x", "a": "2"}, [(0, -5.0)]),
    ]
    out = compare(rows, op, 1.0)
    got = [("nan" if math.isnan(v) else v) for r in out if r.labels["a"] == "1" for _, v in r.points]
    assert got == kept
    assert all(r.labels["__name__"] == "x" for r in out)
    assert [r.labels["a"] for r in out] == (["1", "2"] if op in ("<", "<=", "!=") else ["1"])
