"""Rule ordering, promtool error parsing and threshold detection: the pure parts of the engine."""

from __future__ import annotations

from obsbox.promql import longest_duration_ms, split_threshold
from obsbox.replay.engine import Case, layout
from obsbox.replay.model import Series
from obsbox.replay.rules import Rule, first_promtool_error, layers


def _rule(expr: str, record: str | None = None, alert: str | None = None) -> Rule:
    return Rule(group="g", index=0, expr=expr, source_file="r.yml", line=1, record=record, alert=alert)


def test_alert_on_recorded_series_comes_after_its_recording_rule() -> None:
    """A rule reading a recorded series is in a later layer than the rule recording it."""
    alert = _rule("job:errors:rate5m > 1", alert="A")
    second = _rule("sum(job:req:rate5m)", record="job:errors:rate5m")
    first = _rule("rate(req[5m])", record="job:req:rate5m")
    assert layers([alert, second, first]) == [[first], [second], [alert]]


def test_name_prefix_is_not_a_reference() -> None:
    """A recorded name that is only a prefix of another metric name is not a dependency."""
    assert layers([_rule("job:req:rate5m_total > 1", alert="A"), _rule("1", record="job:req:rate5m")]) == [
        [_rule("job:req:rate5m_total > 1", alert="A"), _rule("1", record="job:req:rate5m")]
    ]


def test_promtool_parse_error_becomes_file_and_line() -> None:
    """promtool check rules' first complaint is turned into 'file:line: message'."""
    output = 'Checking bad.yml\n  FAILED:\nbad.yml: 5:11: group "g", rule 1, "A": could not parse expression: 1:6: parse error: unexpected "="\n'
    assert first_promtool_error(output) == 'bad.yml:5: group "g", rule 1, "A": could not parse expression: 1:6: parse error: unexpected "="'


def test_promtool_unmarshal_error_names_its_line() -> None:
    """A YAML field error names the line promtool reports on the following output line."""
    output = "Checking b.yml\n  FAILED:\nb.yml: yaml: unmarshal errors:\n  line 6: field bogus not found in type rulefmt.RuleNode\n"
    assert first_promtool_error(output).startswith("b.yml:6: ")


def test_threshold_split_of_top_level_comparison() -> None:
    """'A > 0.05' splits into its left-hand side, operator and number."""
    assert split_threshold('sum(rate(e{code=~"5.."}[5m])) / sum(rate(r[5m])) > 0.05') == (
        'sum(rate(e{code=~"5.."}[5m])) / sum(rate(r[5m]))',
        ">",
        0.05,
    )


def test_no_threshold_for_set_operations_or_bool() -> None:
    """'a > 1 and b' and 'a > bool 1' are not threshold comparisons."""
    assert split_threshold("a > 1 and b") is None
    assert split_threshold("a > bool 1") is None
    assert split_threshold("a > b") is None


def test_longest_duration_covers_ranges_and_offsets() -> None:
    """The longest range/offset/subquery duration bounds how far back rules read."""
    assert longest_duration_ms(["rate(x[5m]) offset 1h", "max_over_time(y[30m:1m])"]) == 3_600_000


def test_layout_keeps_cases_apart_and_on_the_grid() -> None:
    """Cases are shifted so each starts at least the gap after the previous one ends, on the grid."""
    s = [Series({"__name__": "x"}, [0, 600_000], [1.0, 2.0])]
    placed = layout([Case(s, 0, 600_000), Case(s, 0, 600_000)], gap_ms=3_600_000, align_ms=45_000)
    assert placed[0].shift_ms == 0
    assert placed[1].shift_ms >= 600_000 + 3_600_000
    assert placed[1].shift_ms % 45_000 == 0


def test_layout_never_reaches_past_the_clock() -> None:
    """Cases that would land after ``latest_ms`` are laid before the first case, apart and on the grid."""
    s = [Series({"__name__": "x"}, [10_000_000, 10_600_000], [1.0, 2.0])]
    cases = [Case(s, 10_000_000, 10_600_000) for _ in range(3)]
    placed = layout(cases, gap_ms=3_600_000, align_ms=45_000, latest_ms=11_000_000)
    spans = sorted((10_000_000 + p.shift_ms, 10_600_000 + p.shift_ms) for p in placed)
    assert placed[0].shift_ms == 0
    assert all(end <= 11_000_000 for _, end in spans)
    assert all(b[0] - a[1] >= 3_600_000 for a, b in zip(spans, spans[1:]))
    assert all(p.shift_ms % 45_000 == 0 for p in placed)
