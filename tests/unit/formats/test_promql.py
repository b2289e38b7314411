"""obsbox.promql: questions about PromQL answered from promql-parser's syntax tree."""

from __future__ import annotations

from obsbox.promql import longest_duration_ms, references, split_threshold


def test_references_read_the_syntax_tree_not_the_text() -> None:
    """A name in a label value is not a read; a __name__ regex that matches the name is."""
    assert references('sum(rate(job:errors:rate5m{env="x"}[5m])) > 1', "job:errors:rate5m")
    assert not references('up{job="job:errors:rate5m"}', "job:errors:rate5m")
    assert references('{__name__=~"job:.*"}', "job:errors:rate5m")
    assert references('ALERTS{alertname="A"}', "ALERTS")


def test_unparseable_expression_is_taken_to_read_everything() -> None:
    """When the parser cannot read it, a rule is ordered after every producer, never before one."""
    assert references("sum(rate(x[5m])", "anything")


def test_threshold_keeps_the_left_hand_side_as_written() -> None:
    """The left-hand side is the rule's own text (no `{}` added), the comparison the top-level one."""
    assert split_threshold("rate(x[5m]) > 0.5 # a comment > 2") == ("rate(x[5m])", ">", 0.5)
    assert split_threshold('x{a!="b"} != 3') == ('x{a!="b"}', "!=", 3.0)
    assert split_threshold("(a > 1)") is None


def test_longest_duration_counts_subquery_steps_and_offsets() -> None:
    """Ranges, subquery ranges and steps, and offsets (either sign) all bound the look-back."""
    assert longest_duration_ms(["max_over_time(y[30m:2h])"]) == 7_200_000
    assert longest_duration_ms(["x offset -3h"]) == 10_800_000
