"""Loading promtool unit-test files (``promtool test rules``) into dataclasses.

Every error names the file and line. Durations use Prometheus' syntax (``1h30m``, ``0``).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from obsbox.formats import (
    FormatError,
    LineReader,
    line_of,
    load_yaml_with_lines,
    parse_float,
)
from obsbox.promtool.notation import NotationError, expand_values, parse_metric


class TestFileError(FormatError):
    """A test file promtool would refuse; the message starts with ``file:line:``."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class InputSeries:
    labels: dict[str, str]
    values: list[float | None]  # at 0, interval, 2*interval, ...; None = no sample
    line: int


@dataclass(frozen=True)
class ExpAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class AlertRuleTest:
    eval_time_ms: int
    alertname: str
    exp_alerts: list[ExpAlert]
    line: int


@dataclass(frozen=True)
class ExpSample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class PromqlExprTest:
    expr: str
    eval_time_ms: int
    exp_samples: list[ExpSample]
    line: int


@dataclass(frozen=True)
class TestGroup:
    __test__ = False

    name: str
    interval_ms: int  # 0 when the file gives none (promtool 2.x: every sample at t=0; 3.x: evaluation_interval)
    input_series: list[InputSeries]
    alert_rule_tests: list[AlertRuleTest]
    promql_expr_tests: list[PromqlExprTest]
    external_labels: dict[str, str]
    external_url: str
    line: int

    def max_eval_time_ms(self) -> int:
        times = [t.eval_time_ms for t in self.alert_rule_tests] + [t.eval_time_ms for t in self.promql_expr_tests]
        return max(times, default=0)


@dataclass(frozen=True)
class TestFile:
    __test__ = False

    path: Path
    rule_files: list[Path]
    evaluation_interval_ms: int
    group_eval_order: list[str]
    tests: list[TestGroup] = field(default_factory=list)
    # promtool 3.x's `fuzzy_compare`: floats equal within one ULP. None when the file does not
    # have the key (promtool 2.x does not know it); else (value, line).
    fuzzy_compare: tuple[bool, int] | None = None


def load_test_file(path: Path | str) -> TestFile:
    """Read a promtool unit-test file; rule_files are resolved against the file's directory."""
    path = Path(path)
    reader = LineReader(path, TestFileError)
    doc = load_yaml_with_lines(path, TestFileError)
    top = reader.mapping(doc, 1, "the test file")
    reader.check_keys(
        top,
        ("rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"),
        "promtool.unitTestFile",
        go_type="promtool.unitTestFile",
    )
    rule_files: list[Path] = []
    for pattern in reader.listing(top.get("rule_files"), line_of(top, 1), "rule_files"):
        joined = path.parent / str(pattern)
        if any(c in str(pattern) for c in "*?["):
            # promtool globs rule_files (relative to the test file).
            rule_files.extend(sorted(Path(p) for p in glob.glob(str(joined))))
        else:
            rule_files.append(joined)
    evaluation_interval = reader.duration_ms(top, "evaluation_interval", 60_000)
    group_eval_order = [str(g) for g in reader.listing(top.get("group_eval_order"), line_of(top, 1), "group_eval_order")]
    groups = []
    for index, raw in enumerate(reader.listing(top.get("tests"), line_of(top, 1), "tests")):
        groups.append(_test_group(reader, raw, index, evaluation_interval, line_of(top, 1)))
    fuzzy = None
    if "fuzzy_compare" in top:
        text = str(top["fuzzy_compare"]).strip().lower()
        if text not in ("true", "false"):
            raise reader.fail(line_of(top, 1), f"fuzzy_compare: cannot unmarshal {top['fuzzy_compare']!r} into bool")
        fuzzy = (text == "true", line_of(top, 1))
    return TestFile(path, rule_files, evaluation_interval, group_eval_order, groups, fuzzy)


def _test_group(reader: LineReader, raw: object, index: int, evaluation_interval: int, parent_line: int) -> TestGroup:
    node = reader.mapping(raw, parent_line, "a test group")
    line = line_of(node, parent_line)
    reader.check_keys(
        node,
        ("interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "name"),
        "promtool.testGroup",
        go_type="promtool.testGroup",
    )
    # 0 when absent: promtool 2.42 has no default here (every sample lands at t=0, and only the
    # first of them is kept), promtool 3.x uses evaluation_interval (runner.input_interval_ms).
    interval = reader.duration_ms(node, "interval", 0)
    series = []
    for s, sline in reader.each_mapping(node, "input_series", line, "an input series"):
        try:
            labels = parse_metric(str(s.get("series", "")))
            values = expand_values(s.get("values", "")) if s.get("values") is not None else []
        except NotationError as exc:
            raise reader.fail(sline, str(exc)) from None
        series.append(InputSeries(labels, values, sline))
    alert_tests = []
    for t, tline in reader.each_mapping(node, "alert_rule_test", line, "an alert_rule_test"):
        exp = [
            ExpAlert(
                reader.strings(a.get("exp_labels"), aline, "exp_labels"),
                reader.strings(a.get("exp_annotations"), aline, "exp_annotations"),
            )
            for a, aline in reader.each_mapping(t, "exp_alerts", tline, "an expected alert")
        ]
        alert_tests.append(AlertRuleTest(reader.duration_ms(t, "eval_time", 0), str(t.get("alertname", "")), exp, tline))
    expr_tests = []
    for t, tline in reader.each_mapping(node, "promql_expr_test", line, "a promql_expr_test"):
        samples = []
        for smp, sline in reader.each_mapping(t, "exp_samples", tline, "an expected sample"):
            if smp.get("histogram"):
                # promtool 3.x compares native histograms here; obsbox does not: refused, never ignored.
                raise reader.fail(sline, "exp_samples: native histograms (histogram:) are not supported by obsbox")
            try:
                labels = parse_metric(str(smp["labels"])) if smp.get("labels") else {}
                value = parse_float(smp.get("value", 0))
            except (NotationError, ValueError) as exc:
                raise reader.fail(sline, str(exc)) from None
            samples.append(ExpSample(labels, value))
        expr_tests.append(PromqlExprTest(str(t.get("expr", "")), reader.duration_ms(t, "eval_time", 0), samples, tline))
    return TestGroup(
        name=str(node.get("name") or ""),
        interval_ms=interval,
        input_series=series,
        alert_rule_tests=alert_tests,
        promql_expr_tests=expr_tests,
        external_labels=reader.strings(node.get("external_labels"), line, "external_labels"),
        external_url=str(node.get("external_url") or ""),
        line=line,
    )
