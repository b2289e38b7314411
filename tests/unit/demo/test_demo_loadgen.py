"""The load generator's pure parts: route mixes, tenant skew, percentiles, argument checks."""

from __future__ import annotations

import pytest

from examples.loadgen import LoadgenError, Summary, parse_mix, run_load, tenant_weights


def test_parse_mix_reads_names_and_weights() -> None:
    """``name:weight`` pairs become (name, weight); a missing weight is 1."""
    assert parse_mix("v1_list:5, ping") == [("v1_list", 5.0), ("ping", 1.0)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("v3_list:1", "unknown route 'v3_list'"),
        ("ping:x", "weight of 'ping' must be a number"),
        ("ping:0", "positive"),
    ],
)
def test_parse_mix_rejects_bad_specs(spec: str, message: str) -> None:
    """Unknown routes, non-numeric and all-zero weights are rejected with the reason."""
    with pytest.raises(LoadgenError, match=message):
        parse_mix(spec)


def test_tenant_weights_are_skewed_like_zipf() -> None:
    """With skew 1 the first tenant weighs ten times the tenth; skew 0 is uniform."""
    w = tenant_weights(10, 1.0)
    assert w[0] / w[9] == pytest.approx(10.0)
    assert set(tenant_weights(5, 0.0)) == {1.0}


def test_percentiles_use_nearest_rank() -> None:
    """p50 and p99 of 1..100 ms are 50 ms and 99 ms."""
    s = Summary(latencies_s=[i / 1000 for i in range(1, 101)])
    assert s.percentile(0.5) == pytest.approx(0.050)
    assert s.percentile(0.99) == pytest.approx(0.099)
    assert Summary().percentile(0.5) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_requests": 0}, "max_requests must be within"),
        ({"duration_s": 0}, "duration must be within"),
        ({"concurrency": 0}, "concurrency >= 1"),
    ],
)
def test_run_load_refuses_unbounded_or_invalid_runs(kwargs: dict[str, float], message: str) -> None:
    """A run without a positive count or time bound is refused before any request is sent."""
    with pytest.raises(LoadgenError, match=message):
        run_load("http://127.0.0.1:9", **kwargs)  # type: ignore[arg-type]


def test_run_load_refuses_a_url_that_is_not_http() -> None:
    """Only http(s) URLs with a host are accepted."""
    with pytest.raises(LoadgenError, match="--url must be http"):
        run_load("ftp://example", max_requests=1)
