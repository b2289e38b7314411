"""Data passed between the replay engine and everything that scores, reports or exports it.

The engine (``obsbox.replay.engine.evaluate``) takes rule files and ``Series`` and returns an
``Evaluation``: for every alerting rule, the state of every alert instance at every evaluation
timestamp, and the expression's value there. Scoring, reports and the promtool exporter are pure
functions of an ``Evaluation``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

# Prometheus' staleness marker is a NaN with this exact bit pattern (value.StaleNaN).
STALE_NAN_BITS = 0x7FF0000000000002


def stale() -> float:
    """Prometheus' staleness marker as a float (a NaN whose bits say "this series ended")."""
    return float(struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0])


def is_stale(value: float) -> bool:
    """True for the staleness marker, False for every other value including a plain NaN."""
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_NAN_BITS


def label_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent key for a label set."""
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Series:
    """One time series: labels (``__name__`` included) and samples in strictly increasing time.

    ``values`` may hold ``obsbox.replay.model.stale()`` markers; the backfill writes them as
    Prometheus staleness markers.
    """

    labels: Mapping[str, str]
    timestamps_ms: Sequence[int]
    values: Sequence[float]

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")


class AlertState(str, Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True)
class AlertTimeline:
    """One alert instance (one output label set of one rule) across every evaluation."""

    labels: Mapping[str, str]  # the alert's labels: expression output + rule labels + alertname
    states: Sequence[AlertState]  # one per Evaluation.timestamps_ms entry
    values: Sequence[float | None]  # the expression's value there; None where it had no result
    # The expression's own output labels (before rule labels and alertname were added): what
    # ``$labels`` means in annotation templates.
    expr_labels: Mapping[str, str] = field(default_factory=dict)

    def firing_intervals(self, timestamps_ms: Sequence[int]) -> list[tuple[int, int]]:
        """[first, last] evaluation timestamps of each run of consecutive firing states."""
        runs: list[tuple[int, int]] = []
        start: int | None = None
        last = 0
        for ts, state in zip(timestamps_ms, self.states):
            if state is AlertState.FIRING:
                if start is None:
                    start = ts
                last = ts
            elif start is not None:
                runs.append((start, last))
                start = None
        if start is not None:
            runs.append((start, last))
        return runs


@dataclass(frozen=True)
class PlotSeries:
    """One series of a plotted expression: its labels and its value at every evaluation."""

    labels: Mapping[str, str]
    values: Sequence[float | None]  # one per evaluation timestamp; None where it had no value


@dataclass(frozen=True)
class ExpressionPlot:
    """The left-hand side of an alert's top-level comparison with a number, and that number."""

    expr: str  # the left-hand side, e.g. ``sum(rate(errors[5m])) / sum(rate(requests[5m]))``
    op: str  # one of > < >= <= == !=
    threshold: float
    series: Sequence[PlotSeries] = field(default_factory=tuple)


class Labelled:
    """Something with alert labels; its severity is the ``severity`` label ("" when unset)."""

    labels: Mapping[str, str]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


@dataclass(frozen=True)
class AlertRuleResult(Labelled):
    """An alerting rule and the timeline of every alert instance it produced."""

    group: str
    name: str  # alertname
    expr: str
    for_s: float
    keep_firing_for_s: float
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    source_file: str
    interval_s: float
    alerts: Sequence[AlertTimeline] = field(default_factory=tuple)
    # Set when the expression is a top-level comparison with a number (``A > 0.05``): A's values
    # and the threshold, for plotting "the expression's value over time with the threshold".
    plot: ExpressionPlot | None = None
    source_line: int = 0


@dataclass(frozen=True)
class Evaluation:
    """What the engine returns for one time range."""

    start_ms: int
    end_ms: int
    # Evaluation timestamps per rule group (groups may have different intervals).
    timestamps_ms: Mapping[str, Sequence[int]]
    rules: Sequence[AlertRuleResult]

    def timestamps_for(self, rule: AlertRuleResult) -> Sequence[int]:
        return self.timestamps_ms[rule.group]
