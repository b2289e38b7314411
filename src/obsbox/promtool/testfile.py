"""Loading promtool unit-test files (``promtool test rules``) into dataclasses.

Every error names the file and line. Durations use Prometheus' syntax (``1h30m``, ``0``).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsbox.promtool.notation import NotationError, expand_values, parse_metric
from obsbox.replay.openmetrics import parse_number


class TestFileError(ValueError):
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


_DURATION = re.compile(
    r"^(?:(?P<y>\d+)y)?(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?$"
)
_UNIT_MS = {"y": 365 * 86400_000, "w": 7 * 86400_000, "d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}


def parse_float(text: object) -> float:
    """A YAML float as Go reads it (``.inf``, ``-.Inf``, ``.nan`` included)."""
    s = str(text).strip()
    special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
    return parse_number(special.get(s.lower(), s))


def parse_duration_ms(text: object) -> int:
    """Prometheus' model.ParseDuration, in milliseconds."""
    s = str(text).strip()
    if s == "0":
        return 0
    match = _DURATION.match(s)
    if not s or match is None or not any(match.groupdict().values()):
        raise ValueError(f"not a valid duration string: {s!r}")
    return sum(int(v) * _UNIT_MS[k] for k, v in match.groupdict().items() if v)


class _Map(dict[str, Any]):
    line = 0


class _List(list[Any]):
    line = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and lists remember the line they start on, and whose scalars
    stay text: promtool's Go YAML reads ``values: 0x10`` into a string as "0x10" (0 eleven
    times), where YAML 1.1 would make it the integer 16."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    result = _Map({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    result.line = node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_sequence(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_with_lines(path: Path) -> Any:
    """YAML whose mappings and lists carry a ``line`` attribute (1-based)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise TestFileError(f"{path}:{line}: {exc.problem or exc}") from None
    except OSError as exc:
        raise TestFileError(f"{path}: {exc.strerror or exc}") from None


def _line(node: object, default: int) -> int:
    return int(getattr(node, "line", 0) or default)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int, message: str) -> TestFileError:
        return TestFileError(f"{self.path}:{line}: {message}")

    def mapping(self, node: object, line: int, what: str) -> dict[str, Any]:
        if node is None:
            return _Map()
        if not isinstance(node, dict):
            raise self.fail(line, f"{what} must be a mapping")
        return node

    def listing(self, node: object, line: int, what: str) -> list[Any]:
        if node is None:
            return []
        if not isinstance(node, list):
            raise self.fail(line, f"{what} must be a list")
        return node

    def duration(self, node: dict[str, Any], key: str, default: int, line: int) -> int:
        if key not in node or node[key] is None:
            return default
        try:
            return parse_duration_ms(node[key])
        except ValueError as exc:
            raise self.fail(line, f"{key}: {exc}") from None

    def strings(self, node: object, line: int, what: str) -> dict[str, str]:
        mapping = self.mapping(node, line, what)
        return {str(k): "" if v is None else str(v) for k, v in mapping.items()}

    def check_keys(self, node: dict[str, Any], allowed: Sequence[str], line: int, what: str) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(line, f"field {key} not found in type {what}")


def load_test_file(path: Path | str) -> TestFile:
    """Read a promtool unit-test file; rule_files are resolved against the file's directory."""
    path = Path(path)
    reader = _Reader(path)
    doc = load_yaml_with_lines(path)
    top = reader.mapping(doc, 1, "the test file")
    reader.check_keys(
        top,
        ("rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"),
        _line(top, 1),
        "promtool.unitTestFile",
    )
    rule_files: list[Path] = []
    for pattern in reader.listing(top.get("rule_files"), _line(top, 1), "rule_files"):
        joined = path.parent / str(pattern)
        if any(c in str(pattern) for c in "*?["):
            # promtool globs rule_files (relative to the test file).
            rule_files.extend(sorted(Path(p) for p in glob.glob(str(joined))))
        else:
            rule_files.append(joined)
    evaluation_interval = reader.duration(top, "evaluation_interval", 60_000, _line(top, 1))
    group_eval_order = [str(g) for g in reader.listing(top.get("group_eval_order"), _line(top, 1), "group_eval_order")]
    groups = []
    for index, raw in enumerate(reader.listing(top.get("tests"), _line(top, 1), "tests")):
        groups.append(_test_group(reader, raw, index, evaluation_interval, _line(top, 1)))
    fuzzy = None
    if "fuzzy_compare" in top:
        text = str(top["fuzzy_compare"]).strip().lower()
        if text not in ("true", "false"):
            raise reader.fail(_line(top, 1), f"fuzzy_compare: cannot unmarshal {top['fuzzy_compare']!r} into bool")
        fuzzy = (text == "true", _line(top, 1))
    return TestFile(path, rule_files, evaluation_interval, group_eval_order, groups, fuzzy)


def _test_group(reader: _Reader, raw: object, index: int, evaluation_interval: int, parent_line: int) -> TestGroup:
    node = reader.mapping(raw, parent_line, "a test group")
    line = _line(node, parent_line)
    reader.check_keys(
        node,
        ("interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "name"),
        line,
        "promtool.testGroup",
    )
    # 0 when absent: promtool 2.42 has no default here (every sample lands at t=0, and only the
    # first of them is kept), promtool 3.x uses evaluation_interval (runner.input_interval_ms).
    interval = reader.duration(node, "interval", 0, line)
    series = []
    for raw_series in reader.listing(node.get("input_series"), line, "input_series"):
        s = reader.mapping(raw_series, line, "an input series")
        sline = _line(s, line)
        try:
            labels = parse_metric(str(s.get("series", "")))
            values = expand_values(s.get("values", "")) if s.get("values") is not None else []
        except NotationError as exc:
            raise reader.fail(sline, str(exc)) from None
        series.append(InputSeries(labels, values, sline))
    alert_tests = []
    for raw_test in reader.listing(node.get("alert_rule_test"), line, "alert_rule_test"):
        t = reader.mapping(raw_test, line, "an alert_rule_test")
        tline = _line(t, line)
        exp = []
        for raw_alert in reader.listing(t.get("exp_alerts"), tline, "exp_alerts"):
            a = reader.mapping(raw_alert, tline, "an expected alert")
            exp.append(
                ExpAlert(
                    reader.strings(a.get("exp_labels"), _line(a, tline), "exp_labels"),
                    reader.strings(a.get("exp_annotations"), _line(a, tline), "exp_annotations"),
                )
            )
        alert_tests.append(AlertRuleTest(reader.duration(t, "eval_time", 0, tline), str(t.get("alertname", "")), exp, tline))
    expr_tests = []
    for raw_test in reader.listing(node.get("promql_expr_test"), line, "promql_expr_test"):
        t = reader.mapping(raw_test, line, "a promql_expr_test")
        tline = _line(t, line)
        samples = []
        for raw_sample in reader.listing(t.get("exp_samples"), tline, "exp_samples"):
            smp = reader.mapping(raw_sample, tline, "an expected sample")
            if smp.get("histogram"):
                # promtool 3.x compares native histograms here; obsbox does not: refused, never ignored.
                raise reader.fail(_line(smp, tline), "exp_samples: native histograms (histogram:) are not supported by obsbox")
            try:
                labels = parse_metric(str(smp["labels"])) if smp.get("labels") else {}
                value = parse_float(smp.get("value", 0))
            except (NotationError, ValueError) as exc:
                raise reader.fail(_line(smp, tline), str(exc)) from None
            samples.append(ExpSample(labels, value))
        expr_tests.append(PromqlExprTest(str(t.get("expr", "")), reader.duration(t, "eval_time", 0, tline), samples, tline))
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
