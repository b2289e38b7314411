"""The parameters of an alert rule that tuning sweeps, and the grid of variants (pure).

A plain rule's parameters are the numbers its expression compares with (``t1``, ``t2``, ... in
the order they appear; the first that is not 0 is swept by default: a ``> 0`` is structure, not a
threshold), ``for`` and ``keep_firing_for``. An SLO alert's are those of ``alert_rules/slos.yaml``:
the burn-rate ``factor`` (a multiplier on the budget shares of its tiers), the tiers' ``windows``
(long/short pairs among the windows the SLO recording rules record), the low-traffic guard
``min_requests_per_hour`` and ``for``. Variants are the cross product of the grids, in a fixed
order with the current setting first, so the same inputs give the same variants.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import promql_parser

from obsbox import promql
from obsbox.formats import format_duration, parse_duration
from obsbox.replay.rules import Rule, RuleGroup
from obsbox.rules import slo as slo_rules

# Multipliers around the current threshold; the grid keeps the current value.
THRESHOLD_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)
FACTOR_GRID = (0.5, 0.75, 1.0, 1.5)
KEEP_FIRING_GRID_S = (0, 300, 900)


class TuneError(ValueError):
    """Bad tuning input; the message names the rule, parameter or file."""


@dataclass(frozen=True)
class Param:
    name: str
    current: str
    grid: tuple[str, ...]
    what: str  # one line for tables and --help-like listings


@dataclass(frozen=True)
class Variant:
    index: int
    values: tuple[tuple[str, str], ...]  # (parameter, value as written in the file)

    @property
    def as_dict(self) -> dict[str, str]:
        return dict(self.values)

    def label(self, params: Sequence[Param]) -> str:
        """The values that differ from the current rule (``current`` when none do)."""
        current = {p.name: p.current for p in params}
        changed = [f"{k}={v}" for k, v in self.values if current.get(k) != v]
        return " ".join(changed) or "current"


# --- numbers in expressions -----------------------------------------------------------------

_CMP = re.compile(
    r"(>=|<=|==|!=|>|<)(\s*)(?!bool\b)([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])(?!\s*[*/^%+-])"
)


@dataclass(frozen=True)
class Literal:
    """A number an expression compares with: ``> 0.05`` (offsets into the expression text)."""

    start: int
    end: int
    op: str
    text: str

    @property
    def value(self) -> float:
        return float(self.text)


def _masked(expr: str) -> str:
    """The expression with strings, label matchers, range/subquery brackets and comments blanked,
    so that numbers and operators inside them (``le="0.5"``, ``[5m]``) are not read as thresholds."""
    out = list(expr)
    depth = {"{": 0, "[": 0}
    closing = {"}": "{", "]": "["}
    quote = ""
    i = 0
    while i < len(expr):
        c = expr[i]
        blank = bool(quote) or depth["{"] > 0 or depth["["] > 0
        if quote:
            if c == "\\":
                out[i] = " "
                if i + 1 < len(expr):
                    out[i + 1] = " "
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
            blank = True
        elif c in depth:
            depth[c] += 1
            blank = True
        elif c in closing:
            depth[closing[c]] = max(0, depth[closing[c]] - 1)
            blank = True
        elif c == "#":
            j = expr.find("\n", i)
            j = len(expr) if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
            continue
        if blank:
            out[i] = " "
        i += 1
    return "".join(out)


def _ast_comparisons(node: object, out: list[tuple[str, float]]) -> None:
    """(operator, number) of every comparison with a number on its right, in text order."""
    if isinstance(node, promql_parser.BinaryExpr):
        _ast_comparisons(node.lhs, out)
        op = str(node.op)
        bool_modifier = node.modifier is not None and node.modifier.return_bool
        if op in promql.COMPARISONS and not bool_modifier and isinstance(node.rhs, promql_parser.NumberLiteral):
            out.append((op, float(node.rhs.val)))
        _ast_comparisons(node.rhs, out)
    elif isinstance(
        node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.AggregateExpr, promql_parser.SubqueryExpr)
    ):
        _ast_comparisons(node.expr, out)
    elif isinstance(node, promql_parser.Call):
        for arg in node.args:
            _ast_comparisons(arg, out)


def comparison_literals(expr: str) -> list[Literal]:
    """Every ``<op> NUMBER`` of an expression, in order (not ``bool`` comparisons' operands, not a
    number that starts an arithmetic expression such as ``> 5 * x``), with its place in the text.

    The places come from the text; the numbers are those PromQL's own parser (obsbox.promql) finds
    compared with, and the two must agree, or the expression is refused rather than edited at a
    wrong place."""
    masked = _masked(expr)
    found = [Literal(m.start(3), m.end(3), m.group(1), m.group(3)) for m in _CMP.finditer(masked)]
    try:
        tree = promql.parse(expr)
    except ValueError as exc:
        raise TuneError(f"cannot read the expression as PromQL: {exc}") from None
    parsed: list[tuple[str, float]] = []
    _ast_comparisons(tree, parsed)
    if [(lit.op, lit.value) for lit in found] != parsed:
        raise TuneError(
            f"cannot place the compared numbers {[v for _, v in parsed]} in the expression's text; "
            "tune its for/keep_firing_for only, or write the comparisons as `<op> NUMBER`"
        )
    return found


def number_text(value: float) -> str:
    """A threshold as a person writes it: 6 significant digits, no trailing zeros."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(float(f"{value:.6g}"), "g")


def with_literal(expr: str, literal: Literal, text: str) -> str:
    return expr[: literal.start] + text + expr[literal.end :]


def _duration_grid(current_s: float, candidates: Sequence[float]) -> tuple[str, ...]:
    values = sorted({*candidates, current_s})
    return tuple(format_duration(v) for v in values)


def for_grid(current_s: float) -> tuple[str, ...]:
    """``for`` from 0 to twice the current, current included (four or five values)."""
    half = (current_s // 2 // 60) * 60
    return _duration_grid(current_s, [0.0, half, current_s * 2] if current_s else [0.0, 60.0, 300.0])


def keep_firing_grid(current_s: float) -> tuple[str, ...]:
    return _duration_grid(current_s, KEEP_FIRING_GRID_S)


def threshold_grid(literal: Literal) -> tuple[str, ...]:
    value = literal.value
    integral = "." not in literal.text and "e" not in literal.text.lower()
    out: list[str] = []
    for factor in THRESHOLD_FACTORS:
        v = value * factor
        text = literal.text if factor == 1.0 else number_text(round(v) if integral and abs(v) >= 1 else v)
        if text not in out:
            out.append(text)
    return tuple(out)


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantRule:
    """One rule of a variant as rule-file data, in the group it belongs to."""

    group: str
    interval_ms: int
    doc: dict[str, Any]


def _rule_doc(rule: Rule, expr: str, for_s: float, keep_s: float) -> dict[str, Any]:
    doc: dict[str, Any] = {"alert": rule.alert, "expr": expr}
    if for_s:
        doc["for"] = format_duration(for_s)
    if keep_s:
        doc["keep_firing_for"] = format_duration(keep_s)
    if rule.labels:
        doc["labels"] = dict(rule.labels)
    if rule.annotations:
        doc["annotations"] = dict(rule.annotations)
    return doc


@dataclass(frozen=True)
class RuleTarget:
    """A plain alerting rule (every group of the rule files that defines an alert of this name)."""

    alert: str
    rules: tuple[tuple[Rule, int], ...]  # each instance with its group's interval
    params: tuple[Param, ...]
    literals: tuple[Literal, ...]  # of the first instance
    kind: str = "rule"

    @property
    def source_file(self) -> str:
        return self.rules[0][0].source_file

    def variant_rules(self, values: Mapping[str, str]) -> list[VariantRule]:
        out = []
        for rule, interval in self.rules:
            expr = rule.expr
            lits = comparison_literals(expr)
            # Later numbers first, so earlier offsets stay valid.
            for k in sorted(range(len(lits)), reverse=True):
                name = f"t{k + 1}"
                if name in values and values[name] != lits[k].text:
                    expr = with_literal(expr, lits[k], values[name])
            for_s = parse_duration(values["for"]) if "for" in values else rule.for_ms / 1000
            keep_s = (
                parse_duration(values["keep_firing_for"])
                if "keep_firing_for" in values
                else rule.keep_firing_for_ms / 1000
            )
            out.append(VariantRule(rule.group, interval, _rule_doc(rule, expr, for_s, keep_s)))
        return out


def rule_target(alert: str, groups: Sequence[RuleGroup]) -> RuleTarget:
    found = [(r, g.interval_ms) for g in groups for r in g.rules if r.alert == alert]
    if not found:
        raise TuneError(f"no alerting rule named {alert!r} in the rule files")
    first = found[0][0]
    literals = comparison_literals(first.expr)
    params = [
        Param(f"t{k + 1}", lit.text, threshold_grid(lit), f"the number compared with ({lit.op} {lit.text})")
        for k, lit in enumerate(literals)
    ]
    durations = (
        ("for", first.for_ms, for_grid, "pending time before firing"),
        ("keep_firing_for", first.keep_firing_for_ms, keep_firing_grid, "how long an alert keeps firing after its condition clears"),
    )
    for name, ms, grid, what in durations:
        params.append(Param(name, format_duration(ms / 1000), grid(ms / 1000), what))
    return RuleTarget(alert, tuple(found), tuple(params), tuple(literals))


def default_swept(target: RuleTarget | SloTarget) -> list[str]:
    """The parameters swept when the user names none: the first threshold that is not 0, then
    ``for`` and ``keep_firing_for``; for SLO alerts every parameter."""
    if isinstance(target, SloTarget):
        return [p.name for p in target.params]
    names = []
    first = next((k for k, lit in enumerate(target.literals) if lit.value != 0), None)
    if first is not None:
        names.append(f"t{first + 1}")
    return [*names, "for", "keep_firing_for"]


# --- SLO alerts -----------------------------------------------------------------------------

# Tier sets offered for the fast (page) and slow (ticket) alerts: long/short window pairs among
# the windows the SLO recording rules record (slo.WINDOWS). The first is the workbook's.
PAGE_WINDOW_SETS = ("1h/5m+6h/30m", "1h/5m", "30m/5m+6h/30m")
TICKET_WINDOW_SETS = ("3d/6h", "6h/30m+3d/6h", "1h/5m+3d/6h")


def windows_text(tiers: Sequence[slo_rules.BurnTier]) -> str:
    return "+".join(f"{t.long}/{t.short}" for t in tiers)


def parse_windows(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split("+"):
        long, sep, short = part.partition("/")
        if not sep or long not in slo_rules.WINDOWS or short not in slo_rules.WINDOWS:
            raise TuneError(f"windows {text!r}: each pair is LONG/SHORT among {', '.join(slo_rules.WINDOWS)}")
        if slo_rules.hours(short) >= slo_rules.hours(long):
            raise TuneError(f"windows {text!r}: the short window must be shorter than the long one")
        pairs.append((long, short))
    return pairs


def scaled_tiers(
    tiers: Sequence[slo_rules.BurnTier], windows: str, factor: float
) -> tuple[slo_rules.BurnTier, ...]:
    """Tiers over these window pairs, each consuming ``factor`` times the budget share of the
    current tier with the same long window (or, for a new long window, of the current first tier
    scaled to the window's length, which keeps its burn rate)."""
    by_long = {t.long: t.budget_share for t in tiers}
    base = tiers[0]
    out = []
    for long, short in parse_windows(windows):
        share = by_long.get(long, base.budget_share * slo_rules.hours(long) / slo_rules.hours(base.long))
        out.append(slo_rules.BurnTier(round(share * factor, 6), long, short))
    return tuple(out)


@dataclass(frozen=True)
class SloTarget:
    """An SLO burn-rate alert rendered from slos.yaml (every service's instance of it)."""

    alert: str
    settings: slo_rules.SloSettings
    page: bool
    params: tuple[Param, ...]
    kind: str = "slo"

    @property
    def slo_kind(self) -> str:
        return "latency" if "Latency" in self.alert else "availability"

    def settings_for(self, values: Mapping[str, str]) -> slo_rules.SloSettings:
        s = self.settings
        policy = s.policy(self.slo_kind, self.page)
        factor = float(values.get("factor", "1"))
        windows = values.get("windows", windows_text(policy.tiers))
        tiers = (
            scaled_tiers(policy.tiers, windows, factor)
            if (factor != 1 or windows != windows_text(policy.tiers))
            else policy.tiers
        )
        s = s.with_policy(
            self.slo_kind, self.page, replace(policy, tiers=tiers, for_=values.get("for", policy.for_))
        )
        if "min_requests_per_hour" in values:
            guard = int(values["min_requests_per_hour"])
            s = replace(s, services=tuple(replace(svc, min_requests_per_hour=guard) for svc in s.services))
        return s

    def variant_rules(self, values: Mapping[str, str]) -> list[VariantRule]:
        out = []
        for group in slo_rules.slo_rule_groups(self.settings_for(values)):
            interval = round(parse_duration(group["interval"]) * 1000)
            for doc in group["rules"]:
                if doc.get("alert") == self.alert:
                    out.append(VariantRule(group["name"], interval, doc))
        return out

    def recording_groups(self) -> list[dict[str, Any]]:
        """The SLO recording rules every variant reads (the same for all: windows are fixed)."""
        groups = []
        for group in slo_rules.slo_rule_groups(self.settings):
            rules = [r for r in group["rules"] if "record" in r]
            groups.append({"name": group["name"], "interval": group["interval"], "rules": rules})
        return groups


SLO_ALERTS = {
    "SloAvailabilityBurnRateFast": True,
    "SloLatencyBurnRateFast": True,
    "SloAvailabilityBurnRateSlow": False,
    "SloLatencyBurnRateSlow": False,
}


def slo_target(alert: str, settings: slo_rules.SloSettings) -> SloTarget:
    if alert not in SLO_ALERTS:
        raise TuneError(f"{alert!r} is not an SLO alert (one of {', '.join(SLO_ALERTS)})")
    page = SLO_ALERTS[alert]
    policy = settings.policy("latency" if "Latency" in alert else "availability", page)
    guards = sorted({svc.min_requests_per_hour for svc in settings.services})
    guard = guards[0]
    windows = windows_text(policy.tiers)
    sets = PAGE_WINDOW_SETS if page else TICKET_WINDOW_SETS
    params = (
        Param(
            "factor",
            "1",
            tuple(number_text(f) for f in FACTOR_GRID),
            "multiplier on the budget share each tier burns",
        ),
        Param(
            "windows", windows, tuple(dict.fromkeys([windows, *sets])), "long/short window pairs of the tiers"
        ),
        Param(
            "min_requests_per_hour",
            str(guard),
            tuple(dict.fromkeys(str(v) for v in sorted({guard // 2, guard, guard * 2}))),
            "the low-traffic guard: fewer requests in the last hour never alert",
        ),
        Param("for", policy.for_, for_grid(parse_duration(policy.for_)), "pending time before firing"),
    )
    return SloTarget(alert, settings, page, params)


# --- the grid ---------------------------------------------------------------------------------


def parse_sweep(texts: Sequence[str], params: Sequence[Param]) -> dict[str, tuple[str, ...]]:
    """``--sweep NAME=V1,V2`` options: each names a parameter of the target and its values."""
    known = {p.name: p for p in params}
    out: dict[str, tuple[str, ...]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        if name not in known:
            raise TuneError(f"--sweep {text!r}: no parameter {name!r} (this rule has {', '.join(known)})")
        if not sep:
            out[name] = known[name].grid
            continue
        items = tuple(v.strip() for v in values.split(",") if v.strip())
        if not items:
            raise TuneError(f"--sweep {text!r}: give values after '=' (comma-separated)")
        for v in items:
            _check_value(known[name], v, text)
        out[name] = items
    return out


def _check_value(param: Param, value: str, where: str) -> None:
    try:
        if param.name in ("for", "keep_firing_for"):
            parse_duration(value)
        elif param.name == "windows":
            parse_windows(value)
        elif param.name == "min_requests_per_hour":
            if int(value) < 0:
                raise ValueError("must be >= 0")
        else:
            float(value)
    except (ValueError, TuneError) as exc:
        raise TuneError(f"--sweep {where!r}: {param.name}={value!r}: {exc}") from None


def variants(params: Sequence[Param], grids: Mapping[str, Sequence[str]]) -> list[Variant]:
    """The cross product of the swept grids (the others stay current), current setting first."""
    axes = []
    for p in params:
        values = list(grids.get(p.name, (p.current,)))
        if p.current in values:
            values.remove(p.current)
        axes.append([(p.name, p.current), *((p.name, v) for v in values)])
    out = [Variant(i, tuple(combo)) for i, combo in enumerate(itertools.product(*axes))]
    return out
