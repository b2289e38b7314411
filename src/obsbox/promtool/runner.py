"""Running promtool unit-test files through obsbox's engine, judged the way promtool judges.

Each test group gets its own TSDB and Prometheus (promtool gives each group fresh storage, and
absolute times such as ``timestamp()`` and ``@`` must stay unshifted), evaluated from t=0 at the
file's evaluation_interval. ``alert_rule_test`` compares the firing alerts (labels + rendered
annotations) at the evaluation at or before ``eval_time``; ``promql_expr_test`` is an instant
query at ``eval_time``; both compare exactly, as promtool does (reflect.DeepEqual).

The runner follows the promtool of the engine's own release where the two differ: a test group
without ``interval`` has its input samples every ``evaluation_interval`` in promtool 3.x, and
all at t=0 (only the first kept) in promtool 2.x; ``fuzzy_compare`` (3.x) lets expression values
one ULP apart be equal, and a 2.x engine refuses the key as promtool 2.x does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from obsbox.formats import format_duration_ms as duration
from obsbox.promtool.testfile import AlertRuleTest, PromqlExprTest, TestFile, TestGroup, load_test_file
from obsbox.replay.engine import Case, EngineError, ReplaySession, SessionOptions
from obsbox.replay.model import AlertState, Evaluation, Series
from obsbox.replay.prometheus import PrometheusError, engine_major
from obsbox.replay.templates import TemplateData, TemplateError, TemplateUnsupported, render


@dataclass(frozen=True)
class Failure:
    line: int  # line of the failing assertion in the test file
    kind: str  # "alert", "expr", "error" or "unsupported"
    message: str
    subject: str = ""  # the alertname or expression the assertion is about
    eval_time_ms: int = 0


@dataclass(frozen=True)
class GroupResult:
    index: int
    name: str
    line: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def unsupported(self) -> bool:
        return any(f.kind == "unsupported" for f in self.failures)


@dataclass(frozen=True)
class FileResult:
    path: Path
    groups: list[GroupResult]
    error: str | None = None  # the file could not be run at all

    @property
    def passed(self) -> bool:
        return self.error is None and all(g.passed for g in self.groups)


def input_interval_ms(test_file: TestFile, group: TestGroup, major: int) -> int:
    """The spacing of a test group's input samples as the promtool of Prometheus ``major`` reads
    them: the group's ``interval``; without one, promtool 3.x uses ``evaluation_interval`` while
    promtool 2.x uses 0 (every sample at t=0)."""
    if group.interval_ms == 0 and major >= 3:
        return test_file.evaluation_interval_ms
    return group.interval_ms


def group_series(group: TestGroup, until_ms: int | None = None, *, interval_ms: int | None = None) -> list[Series]:
    """A test group's input_series as Series (values at 0, interval, 2*interval, ...), with
    ``interval_ms`` (default: the group's own) as the interval.

    promtool loads input samples only up to its last evaluation (WithSamplesTill), so its
    expression tests never see later ones; ``until_ms`` cuts them off the same way.
    """
    step = group.interval_ms if interval_ms is None else interval_ms
    out = []
    for s in group.input_series:
        ts = [i * step for i, v in enumerate(s.values) if v is not None]
        vs = [v for v in s.values if v is not None]
        if until_ms is not None:
            keep = [k for k, t in enumerate(ts) if t <= until_ms]
            ts, vs = [ts[k] for k in keep], [vs[k] for k in keep]
        if step == 0:
            # Every sample at t=0: promtool keeps the first and drops the rest as duplicates.
            ts, vs = ts[:1], vs[:1]
        if ts:
            out.append(Series(dict(s.labels), ts, vs))
    return out


def _format_labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


AlertKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def firing_alerts(
    evaluation: Evaluation,
    alertname: str,
    index: int,
    render_annotation: Callable[[str, Mapping[str, str], float], str],
) -> list[AlertKey]:
    """(labels, annotations) of every firing alert of ``alertname`` at evaluation ``index``."""
    got: list[AlertKey] = []
    for rule in evaluation.rules:
        if rule.name != alertname:
            continue
        for timeline in rule.alerts:
            if index >= len(timeline.states) or timeline.states[index] is not AlertState.FIRING:
                continue
            # Annotations are expanded when the alert was last in the expression's result
            # (keep_firing_for keeps the last ones).
            value = next((v for v in reversed(timeline.values[: index + 1]) if v is not None), math.nan)
            annotations = {k: render_annotation(t, timeline.expr_labels, value) for k, t in rule.annotations.items()}
            got.append((tuple(sorted(timeline.labels.items())), tuple(sorted(annotations.items()))))
    return sorted(got)


def _check_alerts(
    test: AlertRuleTest, evaluation: Evaluation, interval_ms: int, data: Callable[[Mapping[str, str], float], TemplateData]
) -> Failure | None:
    index = test.eval_time_ms // interval_ms

    def render_annotation(template: str, labels: Mapping[str, str], value: float) -> str:
        return render(template, data(labels, value)) if "{{" in template else template

    try:
        got = firing_alerts(evaluation, test.alertname, index, render_annotation)
    except TemplateUnsupported as exc:
        return Failure(
            test.line,
            "unsupported",
            f"alertname {test.alertname}: annotation template outside obsbox's subset: {exc}",
            test.alertname,
            test.eval_time_ms,
        )
    except TemplateError as exc:
        return Failure(
            test.line, "error", f"alertname {test.alertname}: annotation template error: {exc}", test.alertname, test.eval_time_ms
        )
    expected = sorted(
        (
            tuple(sorted({**a.labels, "alertname": test.alertname}.items())),
            tuple(sorted(a.annotations.items())),
        )
        for a in test.exp_alerts
    )
    if got == expected:
        return None
    return Failure(
        test.line,
        "alert",
        f"alertname: {test.alertname}, time: {duration(test.eval_time_ms)}, exp: {_describe(expected)}, got: {_describe(got)}",
        test.alertname,
        test.eval_time_ms,
    )


def _describe(alerts: Sequence[AlertKey]) -> str:
    if not alerts:
        return "[]"
    return "[" + "; ".join(f"Labels:{_format_labels(dict(lb))} Annotations:{_format_labels(dict(an))}" for lb, an in alerts) + "]"


def _same_float(a: float, b: float, fuzzy: bool) -> bool:
    """Exact, as reflect.DeepEqual (NaN never equals NaN); with fuzzy_compare one ULP apart too."""
    return a == b or (fuzzy and (math.nextafter(a, -math.inf) == b or math.nextafter(a, math.inf) == b))


def _check_expr(test: PromqlExprTest, session: ReplaySession, fuzzy: bool = False) -> Failure | None:
    try:
        _, rows = session.query(0, test.expr, test.eval_time_ms)
    except PrometheusError as exc:
        return Failure(
            test.line,
            "expr",
            f'expr: "{test.expr}", time: {duration(test.eval_time_ms)}, err: {exc}',
            test.expr,
            test.eval_time_ms,
        )
    got = sorted((tuple(sorted(r.labels.items())), r.points[0][1]) for r in rows)
    expected = sorted((tuple(sorted(s.labels.items())), s.value) for s in test.exp_samples)
    same = len(got) == len(expected) and all(g[0] == e[0] and _same_float(g[1], e[1], fuzzy) for g, e in zip(got, expected))
    if same:
        return None

    def show(samples: Sequence[tuple[tuple[tuple[str, str], ...], float]]) -> str:
        return ", ".join(f"{_format_labels(dict(lb))} {v!r}" for lb, v in samples) or "nil"

    return Failure(
        test.line,
        "expr",
        f'expr: "{test.expr}", time: {duration(test.eval_time_ms)}, exp: {show(expected)}, got: {show(got)}',
        test.expr,
        test.eval_time_ms,
    )


def run_group(test_file: TestFile, index: int, group: TestGroup, *, major: int | None = None) -> GroupResult:
    """Evaluate one test group in its own Prometheus and check every assertion of it, following
    the promtool of the engine's major version (``major``, default: the engine's)."""
    if major is None:
        major = engine_major()
    interval = test_file.evaluation_interval_ms
    end = (group.max_eval_time_ms() // interval) * interval
    series = group_series(group, end, interval_ms=input_interval_ms(test_file, group, major))
    options = SessionOptions(
        interval_override_ms=interval,
        evaluation_interval_ms=interval,
        external_labels=group.external_labels,
        external_url=group.external_url,
        group_eval_order=test_file.group_eval_order,
        plots=False,
        # Expression tests may query any rule output, and promtool keeps input series that
        # share a name with a rule's output.
        write_all_results=True,
        drop_rule_outputs_from_input=False,
    )
    failures: list[Failure] = []
    try:
        with ReplaySession(test_file.rule_files, [Case(series, 0, end)], options=options) as session:
            evaluation = session.run()[0]

            def data(labels: Mapping[str, str], value: float) -> TemplateData:
                return session.template_data(labels, value)

            for alert_test in group.alert_rule_tests:
                if not alert_test.alertname:
                    failures.append(Failure(alert_test.line, "error", "an item under alert_rule_test misses required attribute alertname"))
                    continue
                failure = _check_alerts(alert_test, evaluation, interval, data)
                if failure is not None:
                    failures.append(failure)
            for expr_test in group.promql_expr_tests:
                failure = _check_expr(expr_test, session, bool(test_file.fuzzy_compare and test_file.fuzzy_compare[0]))
                if failure is not None:
                    failures.append(failure)
    except EngineError as exc:
        failures.append(Failure(group.line, "error", str(exc)))
    return GroupResult(index, group.name, group.line, failures)


def run_test_file(path: Path | str, *, on_group: Callable[[GroupResult], None] | None = None) -> FileResult:
    """Run every test group of a promtool unit-test file; errors reading it are in ``error``."""
    from obsbox.promtool.testfile import TestFileError

    try:
        test_file = load_test_file(path)
    except TestFileError as exc:
        return FileResult(Path(path), [], str(exc))
    results = []
    major = engine_major()
    if test_file.fuzzy_compare is not None and major < 3:
        # promtool 2.x reads the file strictly and does not know the key.
        return FileResult(
            Path(path), [], f"{path}:{test_file.fuzzy_compare[1]}: field fuzzy_compare not found in type main.unitTestFile"
        )
    for index, group in enumerate(test_file.tests):
        result = run_group(test_file, index, group, major=major)
        if on_group is not None:
            on_group(result)
        results.append(result)
    return FileResult(Path(path), results)
