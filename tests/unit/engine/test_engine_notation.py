"""promtool's expanding series notation and series names."""

from __future__ import annotations

import math

import pytest

from obsbox.promtool.notation import NotationError, expand_values, is_stale, parse_metric


def test_step_notation_gives_n_plus_one_values() -> None:
    """'a+bxN' expands to N+1 values a, a+b, ..., a+N*b."""
    assert expand_values("1+2x3") == [1, 3, 5, 7]


def test_negative_step_counts_down() -> None:
    """'a-bxN' steps downwards."""
    assert expand_values("10-2x3") == [10, 8, 6, 4]


def test_repeat_without_step() -> None:
    """'axN' repeats a N+1 times; '0x10' is eleven zeros, not hexadecimal."""
    assert expand_values("0x10") == [0.0] * 11


def test_blank_run_is_exactly_n_missing_samples() -> None:
    """'_xN' is N missing samples (not N+1, unlike the value forms)."""
    assert expand_values("1 _x3 2") == [1, None, None, None, 2]


def test_single_blank_is_one_missing_sample() -> None:
    """'_' is one missing sample."""
    assert expand_values("0 _ 0") == [0, None, 0]


def test_stale_is_the_staleness_marker_not_a_plain_nan() -> None:
    """'stale' expands to Prometheus' staleness marker; 'NaN' to a plain NaN."""
    values = expand_values("stale NaN")
    assert values[0] is not None and is_stale(values[0])
    assert values[1] is not None and math.isnan(values[1]) and not is_stale(values[1])


def test_steps_accumulate_like_prometheus() -> None:
    """Steps are added one by one, so floating-point error matches Prometheus' loop."""
    expected = []
    current = 0.0
    for _ in range(11):
        expected.append(current)
        current += 0.1
    assert expand_values("0+0.1x10") == expected


def test_unreadable_item_is_refused() -> None:
    """A token that is not notation raises NotationError naming it."""
    with pytest.raises(NotationError, match="1x"):
        expand_values("1 1x")


def test_parse_metric_reads_name_and_labels() -> None:
    """A series description gives its name as __name__ plus its labels."""
    assert parse_metric('up{job="a", instance="h:1"}') == {"__name__": "up", "job": "a", "instance": "h:1"}


def test_parse_metric_without_name() -> None:
    """Braces alone give only labels (as exp_samples use them)."""
    assert parse_metric('{job="test"}') == {"job": "test"}
