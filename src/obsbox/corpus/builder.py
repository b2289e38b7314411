"""Build synthetic series the way Prometheus would have scraped them.

Counters are cumulative and only ever reset to 0 (a restart); histograms are written as
cumulative ``_bucket`` series (``le`` including ``+Inf``), ``_sum`` and ``_count`` that agree with
each other at every sample. Randomness comes from one seeded ``random.Random`` per recording, so
the same seed writes the same bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from obsbox.replay.model import Series, label_key

Labels = Mapping[str, str]
LabelKey = tuple[tuple[str, str], ...]

HTTP_METRIC = "http_server_request_duration_seconds"
# Mean duration of a request in each latency class: under 0.5 s, 0.5-1 s, over 1 s.
CLASS_MEAN_SECONDS = (0.06, 0.7, 2.5)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 30, exact below)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw (normal approximation for large n)."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n > 50:
        mean, sd = n * p, math.sqrt(n * p * (1 - p))
        return min(n, max(0, round(rng.gauss(mean, sd))))
    return sum(1 for _ in range(n) if rng.random() < p)


@dataclass
class SeriesBuilder:
    """Samples for one recording on a regular grid of `steps` scrapes, `step_s` apart."""

    start_s: int
    step_s: int
    steps: int
    _counters: dict[LabelKey, list[float]] = field(default_factory=dict)
    _gauges: dict[LabelKey, list[float | None]] = field(default_factory=dict)
    # Scrape indexes at which a counter restarted from zero (the process restarted).
    _resets: dict[LabelKey, set[int]] = field(default_factory=dict)
    # Scrape indexes missing from every series (a scrape that did not happen).
    missing: set[int] = field(default_factory=set)
    # Per scrape index, a shift of the sample time in seconds (scrape jitter).
    jitter_s: dict[int, float] = field(default_factory=dict)

    def time(self, i: int) -> int:
        return self.start_s + i * self.step_s

    def index(self, t_s: float) -> int:
        return int((t_s - self.start_s) // self.step_s)

    def add(self, labels: Labels, i: int, increment: float) -> None:
        """Add to a counter's increase during scrape interval i."""
        key = label_key(labels)
        self._counters.setdefault(key, [0.0] * self.steps)[i] += increment

    def touch(self, labels: Labels) -> None:
        """Make a counter exist from the first scrape even if it never increases."""
        self._counters.setdefault(label_key(labels), [0.0] * self.steps)

    def reset(self, match: Callable[[Labels], bool], i: int) -> None:
        """Every matching counter restarts from zero at scrape i."""
        for key in self._counters:
            if match(dict(key)):
                self._resets.setdefault(key, set()).add(i)

    def gauge(self, labels: Labels, values: Sequence[float | None]) -> None:
        """A gauge's value at every scrape; None where the target was not there."""
        if len(values) != self.steps:
            raise ValueError(f"gauge {dict(labels)}: {len(values)} values for {self.steps} scrapes")
        self._gauges[label_key(labels)] = list(values)

    def build(self) -> list[Series]:
        out = []
        for key, increments in sorted(self._counters.items()):
            resets = self._resets.get(key, set())
            total, values = 0.0, []
            for i, inc in enumerate(increments):
                total = inc if i in resets else total + inc
                values.append(round(total, 6))
            out.append(self._series(key, values))
        for gkey, gvalues in sorted(self._gauges.items()):
            out.append(self._series(gkey, gvalues))
        return [s for s in out if s.timestamps_ms]

    def _series(self, key: LabelKey, values: Sequence[float | None]) -> Series:
        ts, vs = [], []
        for i, v in enumerate(values):
            if v is None or i in self.missing:
                continue
            ts.append(round((self.time(i) + self.jitter_s.get(i, 0.0)) * 1000))
            vs.append(float(v))
        return Series(dict(key), ts, vs)


@dataclass(frozen=True)
class Traffic:
    """What one stream of requests looks like at a moment: rate and shares.

    ``error_share`` of the requests answer with ``error_status``; ``over_threshold`` and
    ``over_1s`` are the shares slower than 0.5 s and than 1 s (``over_1s <= over_threshold``).
    """

    rps: float
    error_share: float = 0.0002
    over_threshold: float = 0.002
    over_1s: float = 0.0005
    error_status: str = "500"


TrafficFn = Callable[[int], Traffic]


def http_stream(
    b: SeriesBuilder,
    rng: random.Random,
    base: Labels,
    traffic: TrafficFn,
    *,
    with_histogram: bool = True,
) -> None:
    """Requests of one label set (job, instance, route, tenant...) scraped every step.

    ``traffic(t_s)`` gives the stream's shape at time t. Two status codes: 200 and the
    stream's error status; each gets ``_count`` and, with ``with_histogram``, ``_bucket`` and
    ``_sum`` series.
    """
    for i in range(b.steps):
        shape = traffic(b.time(i))
        n = poisson(rng, shape.rps * b.step_s)
        errors = binomial(rng, n, shape.error_share)
        for status, count in (("200", n - errors), (shape.error_status, errors)):
            labels = {**base, "http_response_status_code": status}
            # Every series exists from the first scrape (at 0), as after a service's start.
            b.add({**labels, "__name__": f"{HTTP_METRIC}_count"}, i, count)
            if not with_histogram:
                continue
            over_1s = binomial(rng, count, shape.over_1s)
            mid = binomial(rng, count - over_1s, max(0.0, shape.over_threshold - shape.over_1s))
            fast = count - over_1s - mid
            b.add({**labels, "__name__": f"{HTTP_METRIC}_bucket", "le": "0.5"}, i, fast)
            b.add({**labels, "__name__": f"{HTTP_METRIC}_bucket", "le": "1.0"}, i, fast + mid)
            b.add({**labels, "__name__": f"{HTTP_METRIC}_bucket", "le": "+Inf"}, i, count)
            duration = sum(c * m for c, m in zip((fast, mid, over_1s), CLASS_MEAN_SECONDS))
            b.add({**labels, "__name__": f"{HTTP_METRIC}_sum"}, i, round(duration * rng.uniform(0.9, 1.1), 3))
