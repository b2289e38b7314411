"""promtool's expanding series notation (the ``values:`` of ``input_series``).

``1 2 3``, ``_`` (no sample), ``_xN`` (N missing samples), ``axN`` (``a`` N+1 times),
``a+bxN`` / ``a-bxN`` (N+1 values from ``a`` in steps of ``b``, added up one by one as
Prometheus does, so floating-point results match), ``stale`` (a staleness marker), ``Inf``,
``NaN``. Values sit at 0, interval, 2*interval, ...; ``None`` marks a missing sample.
"""

from __future__ import annotations

import math
import re

from obsbox.formats import parse_number as _parse_number
from obsbox.replay.model import is_stale, stale

__all__ = ["NotationError", "STALE", "expand_values", "is_stale", "parse_metric"]

# The staleness marker value: test with ``is_stale(v)``, never with ``==`` (it is a NaN).
STALE = stale()

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = rf"(?:{_NUMBER}|[-+]?Inf|[-+]?inf|NaN|nan|stale)"
_ITEM = re.compile(
    rf"^(?:(?P<blank>_)(?:x(?P<blank_times>\d+))?"
    rf"|(?P<value>{_VALUE})(?:(?P<step>[-+](?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?x(?P<times>\d+))?)$"
)


class NotationError(ValueError):
    """A series description promtool would refuse."""


def _parse_value(text: str) -> float:
    if text == "stale":
        return STALE
    lowered = text.lower()
    if lowered in ("inf", "+inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    if lowered == "nan":
        return math.nan
    return parse_number(text)


def parse_number(text: str) -> float:
    """A number as Go reads it; NotationError for one out of float64's range (``1e999``)."""
    try:
        return _parse_number(text)
    except ValueError as exc:
        raise NotationError(f"cannot read series value: {exc}") from None


def expand_values(text: str | int | float) -> list[float | None]:
    """The samples a promtool ``values`` string stands for; ``None`` where one is omitted."""
    out: list[float | None] = []
    for item in str(text).split():
        match = _ITEM.match(item)
        if match is None:
            raise NotationError(f"cannot read series value {item!r}")
        if match.group("blank"):
            times = match.group("blank_times")
            out.extend([None] * (int(times) if times is not None else 1))
            continue
        value = _parse_value(match.group("value"))
        times_text = match.group("times")
        if times_text is None:
            out.append(value)
            continue
        step_text = match.group("step")
        if step_text is not None and is_stale(value):
            raise NotationError(f"cannot step a staleness marker: {item!r}")
        step = parse_number(step_text) if step_text is not None else 0.0
        current = value
        for _ in range(int(times_text) + 1):
            out.append(current)
            if step_text is not None:
                current += step
    return out


_METRIC = re.compile(r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(?P<labels>.*)\})?\s*$", re.DOTALL)
_LABEL = re.compile(
    r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(?:,|$)"""
)


def _unquote(text: str) -> str:
    if text[0] == "`":
        return text[1:-1]
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}.get(m.group(1), m.group(0)), body)


def parse_metric(text: str) -> dict[str, str]:
    """Labels of ``name{a="b", ...}`` (name and braces both optional), as promtool reads them."""
    match = _METRIC.match(text)
    if match is None or (match.group("name") is None and match.group("labels") is None):
        raise NotationError(f"cannot read series {text!r}")
    labels: dict[str, str] = {}
    if match.group("name"):
        labels["__name__"] = match.group("name")
    body = (match.group("labels") or "").strip()
    pos = 0
    while pos < len(body):
        lm = _LABEL.match(body, pos)
        if lm is None or lm.end() == pos:
            raise NotationError(f"cannot read labels of {text!r}")
        value = _unquote(lm.group("value"))
        # Prometheus drops labels with an empty value.
        if value:
            labels[lm.group("name")] = value
        pos = lm.end()
    return labels
