"""What obsbox needs to know about a PromQL expression, read from its syntax tree.

The tree comes from promql-parser (a port of the Prometheus parser), never from a regex or a
tokenizer of our own: label values, function names, ``by (...)`` clauses and comments look just
like metric names or operators to a regex. Prometheus still evaluates every expression; this
only answers which series an expression reads, how far back it reads, and whether it is a
``LHS <op> NUMBER`` threshold (docs/architecture.md, Layers: no engine of our own).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import promql_parser

from obsbox.formats import parse_duration_ms

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_COMPARISON = re.compile("|".join(re.escape(op) for op in COMPARISONS))


class UncheckableSelectorError(ValueError):
    """A selector whose metric names cannot be known from the text (``{__name__!="x"}``)."""


def parse(expr: str) -> promql_parser.Expr:
    """The syntax tree; ValueError when the expression does not parse."""
    return _parse(expr)


@functools.lru_cache(maxsize=4096)
def _parse(expr: str) -> promql_parser.Expr:
    return promql_parser.parse(expr)


def _names_from_name_matcher(op: promql_parser.MatchOp, value: str, selector: str) -> set[str]:
    if op == promql_parser.MatchOp.Equal:
        return {value}
    if op == promql_parser.MatchOp.Re:
        # A plain alternation of names ("a|b", "(a|b)") is as checkable as two selectors.
        alternatives = value.strip("()").split("|")
        if all(_NAME.fullmatch(alt) for alt in alternatives):
            return set(alternatives)
    raise UncheckableSelectorError(f"selector {selector} picks metric names by pattern; name them instead")


def metric_names(expr: str) -> frozenset[str]:
    """Every metric name the PromQL expression reads; raises ValueError when it does not parse,
    UncheckableSelectorError when a selector picks names by a pattern."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            else:
                for matcher in node.matchers.matchers:
                    if matcher.name == "__name__":
                        names.update(_names_from_name_matcher(matcher.op, matcher.value, str(node)))
        return True

    promql_parser.walk(parse(expr), visit)
    return frozenset(names)


@dataclass(frozen=True)
class _Reads:
    """The series names an expression selects: by name, and by ``__name__`` matchers."""

    names: frozenset[str]
    matchers: tuple[tuple[promql_parser.MatchOp, str], ...]
    unknown: bool = False  # did not parse: it may read anything

    def includes(self, name: str) -> bool:
        if self.unknown or name in self.names:
            return True
        return any(_matches(op, value, name) for op, value in self.matchers)


def _matches(op: promql_parser.MatchOp, value: str, name: str) -> bool:
    # Prometheus anchors label regexes at both ends.
    if op == promql_parser.MatchOp.Equal:
        return name == value
    if op == promql_parser.MatchOp.NotEqual:
        return name != value
    try:
        found = re.fullmatch(value, name) is not None
    except re.error:
        return True  # a regex Python cannot read (RE2 syntax): assume it reads the name
    return found if op == promql_parser.MatchOp.Re else not found


@functools.lru_cache(maxsize=4096)
def _reads(expr: str) -> _Reads:
    try:
        tree = parse(expr)
    except ValueError:
        return _Reads(frozenset(), (), unknown=True)
    names: set[str] = set()
    matchers: list[tuple[promql_parser.MatchOp, str]] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            matchers.extend((m.op, m.value) for m in node.matchers.matchers if m.name == "__name__")
        return True

    promql_parser.walk(tree, visit)
    return _Reads(frozenset(names), tuple(matchers))


def references(expr: str, name: str) -> bool:
    """Whether ``expr`` reads the series ``name`` (as a metric name or a ``__name__`` matcher).

    An expression that does not parse here is taken to read every series, so a rule is never
    evaluated before a recording rule it might read.
    """
    return _reads(expr).includes(name)


def _ms(delta: object) -> int:
    if delta is None:
        return 0
    return abs(round(delta.total_seconds() * 1000))  # type: ignore[attr-defined]


def longest_duration_ms(exprs: Sequence[str]) -> int:
    """The longest duration literal (range, offset, subquery) in any expression: how far back
    they read."""
    longest = 0

    def visit(node: object) -> bool:
        nonlocal longest
        if isinstance(node, promql_parser.MatrixSelector):
            longest = max(longest, _ms(node.range), _ms(node.vector_selector.offset))
        elif isinstance(node, promql_parser.VectorSelector):
            longest = max(longest, _ms(node.offset))
        elif isinstance(node, promql_parser.SubqueryExpr):
            longest = max(longest, _ms(node.range), _ms(node.step), _ms(node.offset))
        return True

    for expr in exprs:
        try:
            tree = parse(expr)
        except ValueError:
            longest = max(longest, _longest_literal_ms(expr))
            continue
        promql_parser.walk(tree, visit)
    return longest


_DURATION_LITERAL = re.compile(r"(?<![a-zA-Z0-9_:])((?:\d+(?:ms|s|m|h|d|w|y))+)(?![a-zA-Z0-9_:])")


def _longest_literal_ms(expr: str) -> int:
    """For text promql-parser cannot read (a newer function, or a slip it refuses): the longest
    duration-like literal, so that replay cases are still laid far enough apart."""
    longest = 0
    for match in _DURATION_LITERAL.finditer(expr):
        try:
            longest = max(longest, parse_duration_ms(match.group(1)))
        except ValueError:
            continue
    return longest


def split_threshold(expr: str) -> tuple[str, str, float] | None:
    """(left-hand side, operator, number) when ``expr`` is ``LHS <op> NUMBER`` at the top level.

    Set operators bind looser than comparisons, so ``a > 1 and b`` is not such an expression;
    neither is a ``bool`` comparison (its value is 0/1, not a filter). The left-hand side is the
    expression's own text, as written.
    """
    try:
        tree = parse(expr)
    except ValueError:
        return None
    if not isinstance(tree, promql_parser.BinaryExpr) or str(tree.op) not in COMPARISONS:
        return None
    if tree.modifier is not None and tree.modifier.return_bool:
        return None
    if not isinstance(tree.rhs, promql_parser.NumberLiteral):
        return None
    op, threshold = str(tree.op), float(tree.rhs.val)
    # The top-level operator is the last one whose remaining text is that number literal.
    for match in reversed(list(_COMPARISON.finditer(expr))):
        if match.group() != op:
            continue
        try:
            tail = parse(expr[match.end() :])
        except ValueError:
            continue
        if isinstance(tail, promql_parser.NumberLiteral) and _same(float(tail.val), threshold):
            lhs = expr[: match.start()].strip()
            return (lhs, op, threshold) if lhs else None
    return None


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
