"""Running promtool unit-test files through obsbox's engine, judged the way promtool judges.

promtool gives each test group fresh storage, evaluated from t=0 at the file's
evaluation_interval. obsbox starts one Prometheus per file where it can: each group is one case
of a ReplaySession, laid out of the reach of the others (engine.layout); a group whose answers
depend on absolute time (``time()``, ``timestamp()``, ``@``, through the rules it tests) keeps
t=0 as the session's first case, and only a second such group, or one whose expressions read
further back than the gap between cases, gets a Prometheus of its own (``plan_sessions``).
A group using templates outside obsbox's subset (``with``, ``if``, ``humanizeTimestamp``, ...) is
judged by the real promtool of the engine's release (``delegate.py``); when that cannot give a
verdict the group is "not evaluated", which is never a failed assertion nor a pass. ``alert_rule_test`` compares the firing alerts (labels + rendered
annotations) at the evaluation at or before ``eval_time``; ``promql_expr_test`` is an instant
query at ``eval_time``; both compare exactly, as promtool does (reflect.DeepEqual).

The runner follows the promtool of the engine's own release where the two differ: a test group
without ``interval`` has its input samples every ``evaluation_interval`` in promtool 3.x, and
all at t=0 (only the first kept) in promtool 2.x; ``fuzzy_compare`` (3.x) lets expression values
one ULP apart be equal, and a 2.x engine refuses the key as promtool 2.x does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from obsbox.formats import format_duration_ms as duration
from obsbox.formats import parse_duration_ms
from obsbox.promql import longest_duration_ms, references
from obsbox.promtool.delegate import CannotDelegate, promtool_verdict
from obsbox.promtool.testfile import (
    AlertRuleTest,
    PromqlExprTest,
    TestFile,
    TestFileError,
    TestGroup,
    load_test_file,
)
from obsbox.replay.checkpoints import AlertKey, firing_alerts
from obsbox.replay.engine import LOOKBACK_MS, MIN_GAP_MS, Case, EngineError, ReplaySession, SessionOptions
from obsbox.replay.model import Evaluation, Series
from obsbox.replay.prometheus import PrometheusError, engine_major
from obsbox.replay.rules import Rule, RuleFileError, load_rule_groups
from obsbox.replay.templates import (
    TemplateData,
    TemplateError,
    TemplateUnsupported,
    render,
    unsupported_reason,
)


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
    # Who gave the verdict: "obsbox" (its engine), "promtool" (the group uses what obsbox cannot
    # evaluate, see ``why``), or "none" (neither could: the group was not evaluated).
    judge: str = "obsbox"
    why: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def evaluated(self) -> bool:
        """False when no verdict could be given (a "cannot evaluate", never a failed assertion)."""
        return self.judge != "none"


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


def _check_expr(test: PromqlExprTest, session: ReplaySession, fuzzy: bool = False, case_index: int = 0) -> Failure | None:
    try:
        _, rows = session.query(case_index, test.expr, test.eval_time_ms)
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


# What makes an expression's answer depend on where in time it is evaluated, so its group cannot
# be moved along the TSDB's time axis: the clock (time(), the date functions, whose default
# argument is time()), sample timestamps, and the @ modifier.
_TIME_DEPENDENT = re.compile(
    r"(?<![A-Za-z0-9_:])(?:time|timestamp|minute|hour|day_of_week|day_of_month|day_of_year|days_in_month|month|year)\s*\(|@"
)


# A group evaluated over more than this gets a Prometheus of its own (see plan_sessions).
LONG_GROUP_MS = 365 * 86_400_000


def time_dependent(expr: str) -> bool:
    return _TIME_DEPENDENT.search(expr) is not None


@dataclass(frozen=True)
class SessionPlan:
    """How a file's test groups are evaluated: ``sessions`` lists the groups that share one
    Prometheus (the first of each keeps its own time; the others are moved along the time axis,
    out of each other's reach); ``delegated`` maps each group promtool judges to the reason."""

    sessions: list[list[int]]
    delegated: dict[int, str]


def _time_sensitive_names(rules: Sequence[Rule]) -> set[str]:
    """Names (recorded series, alerts, ALERTS) whose values depend on absolute time, through
    the rules that read them too."""
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.name in names:
                continue
            if time_dependent(rule.expr) or any(references(rule.expr, n) for n in names):
                names.add(rule.name)
                if rule.alert:
                    names |= {"ALERTS", "ALERTS_FOR_STATE"}
                changed = True
    return names


def _unsupported_alerts(rules: Sequence[Rule]) -> tuple[dict[str, str], str | None]:
    """Alerts whose annotation templates obsbox cannot render (name -> why), and why any alert's
    label templates cannot be rendered (the engine renders those for every group)."""
    annotations: dict[str, str] = {}
    labels: str | None = None
    for rule in rules:
        if not rule.alert:
            continue
        for key, template in rule.annotations.items():
            why = unsupported_reason(template) if "{{" in template else None
            if why is not None:
                annotations.setdefault(rule.alert, f"{rule.location}: annotation {key} of {rule.alert}: {why}")
        for key, template in rule.labels.items():
            why = unsupported_reason(template) if "{{" in template else None
            if why is not None and labels is None:
                labels = f"{rule.location}: label {key} of {rule.alert}: {why}"
    return annotations, labels


def plan_sessions(test_file: TestFile, rules: Sequence[Rule] | None) -> SessionPlan:
    """Which groups share a Prometheus (``rules``: the file's rules; None when they cannot be
    read, and every group then runs alone to report the error)."""
    indices = list(range(len(test_file.tests)))
    if rules is None:
        return SessionPlan([[i] for i in indices], {})
    annotation_why, label_why = _unsupported_alerts(rules)
    delegated: dict[int, str] = {}
    for i, group in enumerate(test_file.tests):
        if label_why is not None:
            delegated[i] = label_why
            continue
        why = next((annotation_why[t.alertname] for t in group.alert_rule_tests if t.alertname in annotation_why), None)
        if why is not None:
            delegated[i] = why
    sensitive = _time_sensitive_names(rules)
    gap = max(MIN_GAP_MS, 2 * (longest_duration_ms([r.expr for r in rules]) + LOOKBACK_MS))
    shared: dict[tuple[tuple[tuple[str, str], ...], str], list[int]] = {}
    sessions: list[list[int]] = []
    leaders: set[int] = set()  # groups at their own time, each first in its session
    for i, group in enumerate(test_file.tests):
        if i in delegated:
            continue
        exprs = [t.expr for t in group.promql_expr_tests]
        if 2 * (longest_duration_ms(exprs) + LOOKBACK_MS) > gap:
            sessions.append([i])  # it reads further back than the gap between groups
            continue
        if group.max_eval_time_ms() > LONG_GROUP_MS:
            # Groups after it would be laid past the wall clock, which Prometheus 3 refuses to
            # take by remote write, and engine.layout would move them before 1970 instead.
            sessions.append([i])
            continue
        pinned = any(t.alertname in sensitive for t in group.alert_rule_tests) or any(
            time_dependent(e) or any(references(e, n) for n in sensitive) for e in exprs
        )
        members = shared.setdefault((tuple(sorted(group.external_labels.items())), group.external_url), [])
        if not pinned:
            members.append(i)
        elif members and members[0] in leaders:
            sessions.append([i])  # only one group per session keeps its own time
        else:
            members.insert(0, i)
            leaders.add(i)
    sessions.extend(members for members in shared.values() if members)
    return SessionPlan(sorted(sessions), delegated)


def _group_case(test_file: TestFile, group: TestGroup, major: int) -> Case:
    interval = test_file.evaluation_interval_ms
    end = (group.max_eval_time_ms() // interval) * interval
    return Case(group_series(group, end, interval_ms=input_interval_ms(test_file, group, major)), 0, end)


def _check_group(
    test_file: TestFile, index: int, session: ReplaySession, case_index: int, evaluation: Evaluation
) -> GroupResult:
    group = test_file.tests[index]
    interval = test_file.evaluation_interval_ms

    def data(labels: Mapping[str, str], value: float) -> TemplateData:
        return TemplateData(dict(labels), value, dict(group.external_labels), group.external_url)

    failures: list[Failure] = []
    for alert_test in group.alert_rule_tests:
        if not alert_test.alertname:
            failures.append(Failure(alert_test.line, "error", "an item under alert_rule_test misses required attribute alertname"))
            continue
        failure = _check_alerts(alert_test, evaluation, interval, data)
        if failure is not None:
            failures.append(failure)
    fuzzy = bool(test_file.fuzzy_compare and test_file.fuzzy_compare[0])
    for expr_test in group.promql_expr_tests:
        failure = _check_expr(expr_test, session, fuzzy, case_index)
        if failure is not None:
            failures.append(failure)
    return GroupResult(index, group.name, group.line, failures)


def run_session(test_file: TestFile, indices: Sequence[int], major: int) -> dict[int, GroupResult]:
    """Evaluate the groups ``indices`` in one Prometheus (one case each, the first at its own
    time) and check their assertions. When the shared evaluation fails, each group runs alone,
    so the error is reported on the group that causes it."""
    first = test_file.tests[indices[0]]
    interval = test_file.evaluation_interval_ms
    options = SessionOptions(
        interval_override_ms=interval,
        evaluation_interval_ms=interval,
        external_labels=first.external_labels,
        external_url=first.external_url,
        group_eval_order=test_file.group_eval_order,
        plots=False,
        # Expression tests may query any rule output, and promtool keeps input series that
        # share a name with a rule's output.
        write_all_results=True,
        drop_rule_outputs_from_input=False,
    )
    cases = [_group_case(test_file, test_file.tests[i], major) for i in indices]
    try:
        with ReplaySession(test_file.rule_files, cases, options=options) as session:
            evaluations = session.run()
            return {i: _check_group(test_file, i, session, k, evaluations[k]) for k, i in enumerate(indices)}
    except EngineError as exc:
        if len(indices) > 1:
            results: dict[int, GroupResult] = {}
            for i in indices:
                results.update(run_session(test_file, [i], major))
            return results
        return {indices[0]: GroupResult(indices[0], first.name, first.line, [Failure(first.line, "error", str(exc))])}


_PROMTOOL_ASSERTION = re.compile(r'^\s*(?:alertname: (?P<alert>\S+), time: (?P<at>\S+?),|expr: "(?P<expr>(?:[^"\\]|\\.)*)", time: (?P<et>\S+?),)')


def _promtool_failures(group: TestGroup, lines: Sequence[str]) -> list[Failure]:
    """promtool's report of a failed group as failures: one per assertion it names (with the
    assertion's line in the test file), else one carrying everything it said."""
    failures: list[Failure] = []
    for k, line in enumerate(lines):
        match = _PROMTOOL_ASSERTION.match(line)
        if match is None:
            continue
        block = [line.strip()]
        for nxt in lines[k + 1 :]:
            if _PROMTOOL_ASSERTION.match(nxt):
                break
            block.append(nxt.strip())
        message = " ".join(block)
        if match.group("alert") is not None:
            at = parse_duration_ms(match.group("at"))
            subject = match.group("alert")
            where = next((t.line for t in group.alert_rule_tests if t.alertname == subject and t.eval_time_ms == at), group.line)
            failures.append(Failure(where, "alert", message, subject, at))
        else:
            at = parse_duration_ms(match.group("et"))
            subject = match.group("expr").replace('\\"', '"')
            where = next((t.line for t in group.promql_expr_tests if t.expr == subject and t.eval_time_ms == at), group.line)
            failures.append(Failure(where, "expr", message, subject, at))
    if not failures:
        failures.append(Failure(group.line, "error", " ".join(ln.strip() for ln in lines if ln.strip() != "FAILED:")))
    return failures


def judge_with_promtool(test_file: TestFile, index: int, why: str) -> GroupResult:
    """Group ``index`` judged by the real promtool of the engine's release (``why``: what obsbox
    cannot evaluate); a group promtool cannot judge either is reported as not evaluated."""
    group = test_file.tests[index]
    try:
        verdict = promtool_verdict(test_file.path, index)
    except (CannotDelegate, ValueError, OSError, yaml.YAMLError) as exc:
        return GroupResult(index, group.name, group.line, [Failure(group.line, "unsupported", f"{why}; {exc}")], judge="none", why=why)
    failures = [] if verdict.passed else _promtool_failures(group, verdict.lines)
    return GroupResult(index, group.name, group.line, failures, judge="promtool", why=why)


def _rules_of(test_file: TestFile) -> list[Rule] | None:
    try:
        return [r for g in load_rule_groups(test_file.rule_files) for r in g.rules]
    except (RuleFileError, OSError):
        return None


def run_test_file(path: Path | str, *, on_group: Callable[[GroupResult], None] | None = None) -> FileResult:
    """Run every test group of a promtool unit-test file; errors reading it are in ``error``.

    Groups share one Prometheus where they can (``plan_sessions``); ``on_group`` sees each
    result in group order as soon as it and every group before it are done.
    """
    try:
        test_file = load_test_file(path)
    except TestFileError as exc:
        return FileResult(Path(path), [], str(exc))
    major = engine_major()
    if test_file.fuzzy_compare is not None and major < 3:
        # promtool 2.x reads the file strictly and does not know the key.
        return FileResult(
            Path(path), [], f"{path}:{test_file.fuzzy_compare[1]}: field fuzzy_compare not found in type main.unitTestFile"
        )
    plan = plan_sessions(test_file, _rules_of(test_file))
    results: dict[int, GroupResult] = {}
    shown = 0

    def emit() -> None:
        nonlocal shown
        while shown in results:
            if on_group is not None:
                on_group(results[shown])
            shown += 1

    # Sessions and promtool's groups in the order of their first group, so output comes early.
    units: list[tuple[int, list[int] | str]] = [(s[0], s) for s in plan.sessions]
    units += [(index, why) for index, why in plan.delegated.items()]
    for first, unit in sorted(units, key=lambda u: u[0]):
        if isinstance(unit, str):
            results[first] = judge_with_promtool(test_file, first, unit)
        else:
            for index, result in run_session(test_file, unit, major).items():
                # A template the dry run could not see (it depends on the data): promtool judges.
                unsupported = next((f for f in result.failures if f.kind == "unsupported"), None)
                results[index] = result if unsupported is None else judge_with_promtool(test_file, index, unsupported.message)
        emit()
    return FileResult(Path(path), [results[i] for i in range(len(test_file.tests))])
