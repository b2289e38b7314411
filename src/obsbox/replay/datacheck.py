"""Whether a rule could see anything in a recording: its selectors against the recording's series.

A rule whose service is not in a recording (an SLO rule for ``job="payments-demo"`` replayed on
recordings of ``invoicing-demo``) cannot catch an incident there; scoring it "0 of 5" would blame
the rule for the corpus. Prometheus answers for threshold rules (their left-hand side is plotted);
for the others this module reads the expression's vector selectors (with promql-parser) and asks
whether any series of the recording matches one of them. A selector of a recording rule's output
stands for that rule's own selectors, with its label matchers applied to their series (the labels
a recording rule keeps are its inputs' labels). This is only ever used to say "no data": it never
evaluates PromQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import promql_parser

from obsbox.replay.openmetrics import parse_series_name


@dataclass(frozen=True)
class Selector:
    name: str | None
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value); op one of = != =~ !~


_OPS = (
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
)


def _op(op: object) -> str | None:
    return next((text for known, text in _OPS if op == known), None)


@lru_cache(maxsize=1024)
def selectors(expr: str) -> tuple[Selector, ...]:
    """Every vector selector of an expression; () when it does not parse."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError:
        return ()
    out: list[Selector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = tuple(
                (m.name, op, m.value) for m in node.matchers.matchers if (op := _op(m.op)) is not None
            )
            out.append(Selector(node.name or None, matchers))
        return True

    promql_parser.walk(tree, visit)
    return tuple(out)


def _matches(labels: Mapping[str, str], matchers: Sequence[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        actual = labels.get(label, "")
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
        if op in ("=~", "!~"):
            try:
                hit = re.fullmatch(value, actual) is not None
            except re.error:
                return True  # a pattern Python cannot read: do not claim "no data"
            if hit != (op == "=~"):
                return False
    return True


def series_labels(path: Path) -> list[dict[str, str]]:
    """The distinct series (labels with ``__name__``) of an OpenMetrics file, read cheaply."""
    prefixes: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rsplit(None, 2)
            if len(parts) == 3:
                prefixes.add(parts[0])
    out = []
    for prefix in prefixes:
        labels = parse_series_name(prefix)
        if labels is not None:
            out.append(labels)
    return out


def sees_data(
    expr: str,
    series: Sequence[Mapping[str, str]],
    recorded: Mapping[str, Sequence[str]],
    extra: Sequence[tuple[str, str, str]] = (),
    depth: int = 0,
) -> bool:
    """Whether any selector of ``expr`` matches a series, following recording rules (``recorded``:
    metric name -> the expressions recording it)."""
    for sel in selectors(expr):
        matchers = [*sel.matchers, *extra]
        name = sel.name
        if name is None:
            names = [v for label, op, v in sel.matchers if label == "__name__" and op == "="]
            name = names[0] if names else None
        if name is not None and name in recorded and depth < 10:
            outer = [m for m in matchers if m[0] != "__name__"]
            if any(sees_data(inner, series, recorded, outer, depth + 1) for inner in recorded[name]):
                return True
            continue
        by_name = [("__name__", "=", sel.name)] if sel.name else []
        if any(_matches(s, [*by_name, *matchers]) for s in series):
            return True
    return False


# Larger recordings are not read again just to say "no data" (the replay hands them to promtool
# without parsing them in Python); their rules' windows are charged as before.
MAX_SCAN_BYTES = 64 * 1024 * 1024


class DataCheck:
    """Per recording (its data file) and rule expression: could the rule see any series?"""

    def __init__(self, recorded: Mapping[str, Sequence[str]]) -> None:
        self.recorded = recorded
        self._series: dict[Path, list[dict[str, str]]] = {}

    def __call__(self, expr: str, data_path: Path) -> bool | None:
        try:
            if data_path not in self._series:
                if data_path.stat().st_size > MAX_SCAN_BYTES:
                    return None
                self._series[data_path] = series_labels(data_path)
        except (OSError, UnicodeDecodeError):
            return None
        return sees_data(expr, self._series[data_path], self.recorded)
