"""The replay engine: rule files + recorded series -> every alert's state at every evaluation.

Prometheus evaluates every expression (``query_range`` at each group's interval over a temporary
TSDB); this module lays the cases out in time, orders the rules so recording rules are evaluated
and written back before the rules that read them, and runs Prometheus' alerting state machine on
the results. See docs/architecture.md, Rule tester engine.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import shutil
import tempfile
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import itemgetter
from pathlib import Path
from types import TracebackType

from obsbox.promql import longest_duration_ms, references, split_threshold
from obsbox.replay import alerting, blockcache, tsdb
from obsbox.replay.alerting import AlertSample, LabelKey
from obsbox.replay.datarange import data_range
from obsbox.replay.model import (
    AlertRuleResult,
    AlertTimeline,
    Evaluation,
    ExpressionPlot,
    PlotSeries,
    Series,
    is_stale,
    label_key,
)
from obsbox.replay.openmetrics import format_series_name
from obsbox.replay.prometheus import (
    PrometheusError,
    PrometheusServer,
    QueryResult,
    binary_version,
    engine_major,
    find_binary,
)
from obsbox.replay.rules import (
    Rule,
    RuleFileError,
    RuleGroup,
    check_rules,
    layers,
    load_rule_groups,
    order_groups,
)
from obsbox.replay.templates import TemplateData, TemplateError, TemplateUnsupported, render
from obsbox.replay.tsdb import BackfillError, backfill, prepare, split_stale

Progress = Callable[[str, float], None]

# Prometheus' default lookback: a sample is visible to instant selectors for 5 minutes.
LOOKBACK_MS = 5 * 60_000
# The least time between two cases laid side by side in the TSDB.
MIN_GAP_MS = 60 * 60_000
# Prometheus 3.x refuses remote-written samples more than 10 minutes ahead of its own clock
# (2.42 takes any time): samples later than now plus this margin go in as backfilled blocks.
FUTURE_MARGIN_MS = 5 * 60_000
# Recordings this big or bigger are never read whole: promtool reads them (shifted in time by a
# streaming copy when they share the TSDB with others); the Python side holds only smaller ones.
STREAM_MIN_BYTES = 32 << 20
# Rules whose queries are in flight at once (two cores: Prometheus evaluates while Python decodes).
QUERY_THREADS = 3


class EngineError(RuntimeError):
    """The replay cannot run; the message is one line and names file and line where there is one."""


@dataclass(frozen=True)
class Case:
    """One independent replay: its series and the time range to evaluate the rules over."""

    series: Sequence[Series]
    start_ms: int
    end_ms: int
    # The data's first and last timestamps when the series are not held here (a recording file
    # backfilled as it is); by default they come from the series.
    data_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class FileCase:
    """A case whose data is an OpenMetrics file (a recording), read only if it must be.

    The largest such file is handed to promtool as it is and checked by promtool's accounting
    (see ``tsdb.FileBackfill``); every other file, or that one when the check fails, is read
    with ``read``, which raises an error naming the file and line for bad data. ``resolve`` turns
    the data's first and last timestamps into the replay range, or raises an error naming the
    manifest line (a window outside the data, say).
    """

    path: Path
    read: Callable[[], Sequence[Series]]
    resolve: Callable[[int, int], tuple[int, int]]


def _data_range(series: Sequence[Series], path: Path) -> tuple[int, int]:
    first = min((s.timestamps_ms[0] for s in series if len(s.timestamps_ms)), default=None)
    last = max((s.timestamps_ms[-1] for s in series if len(s.timestamps_ms)), default=None)
    if first is None or last is None:
        raise EngineError(f"{path}:1: the recording has no samples")
    return first, last


@dataclass
class _Placed:
    case: Case
    shift_ms: int

    def timestamps(self, interval_ms: int) -> list[int]:
        """Evaluation timestamps, in the case's own time."""
        return list(range(self.case.start_ms, self.case.end_ms + 1, interval_ms))


@dataclass
class SessionOptions:
    """How to evaluate: defaults replay like a Prometheus server; promtool's test runner overrides."""

    # Evaluate every group at this interval instead of its own (promtool ignores group intervals).
    interval_override_ms: int | None = None
    # Prometheus' global evaluation_interval: the default step of subqueries.
    evaluation_interval_ms: int = 60_000
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    group_eval_order: Sequence[str] = ()
    # Query each threshold alert's left-hand side too, for plotting it against the threshold.
    plots: bool = True
    # Write every rule result back (promtool tests may query any of them), not only those that
    # other rules read.
    write_all_results: bool = False
    # Drop input series that the rules themselves produce (recorded names, ALERTS): the replay
    # re-evaluates them, and two values at one timestamp would be refused.
    drop_rule_outputs_from_input: bool = True
    # Take backfilled blocks from the block cache and store new ones there (replay/blockcache.py).
    block_cache: bool = True


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def layout(cases: Sequence[Case], gap_ms: int, align_ms: int, *, latest_ms: int | None = None) -> list[_Placed]:
    """Shift each case so cases never see each other's data: the first stays where it is (so
    absolute times such as ``timestamp()`` are right for a single case), each next one starts
    ``gap_ms`` after the previous one ends, with evaluation starts on a common ``align_ms`` grid.

    A case that would then reach past ``latest_ms`` (the wall clock: Prometheus 3.x refuses
    remote-written samples more than 10 minutes ahead of its clock, and rule results are written
    back that way) is laid before the first case instead, ending ``gap_ms`` before the earliest
    case laid so far starts.
    """
    placed: list[_Placed] = []
    cursor: int | None = None  # the end of the latest case laid
    floor: int | None = None  # the start of the earliest case laid
    for case in cases:
        if case.data_range is not None:
            data_min, data_max = case.data_range
        else:
            data_min = min((s.timestamps_ms[0] for s in case.series if s.timestamps_ms), default=case.start_ms)
            data_max = max((s.timestamps_ms[-1] for s in case.series if s.timestamps_ms), default=case.end_ms)
        low = min(case.start_ms, data_min)
        high = max(case.end_ms, data_max)
        if cursor is None or floor is None:
            shift = 0
        else:
            first_start = placed[0].case.start_ms
            shift = cursor + gap_ms - low
            # Align the evaluation start with the first case's grid.
            shift += (first_start - (case.start_ms + shift)) % align_ms
            if latest_ms is not None and high + shift > latest_ms:
                shift = floor - gap_ms - high
                shift -= (case.start_ms + shift - first_start) % align_ms
        placed.append(_Placed(case, shift))
        cursor = high + shift if cursor is None else max(cursor, high + shift)
        floor = low + shift if floor is None else min(floor, low + shift)
    return placed


class ReplaySession:
    """A temporary TSDB and Prometheus holding the cases; evaluates the rules and can be queried.

    Use as a context manager: the server is stopped and the directory removed on exit, also on
    errors and KeyboardInterrupt.
    """

    def __init__(
        self,
        rule_files: Sequence[Path],
        cases: Sequence[Case | FileCase],
        *,
        options: SessionOptions | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.rule_files = [Path(p) for p in rule_files]
        self.cases = list(cases)
        self.options = options or SessionOptions()
        self.progress = progress or (lambda stage, fraction: None)
        self.workdir: Path | None = None
        self.server: PrometheusServer | None = None
        self.groups: list[RuleGroup] = []
        self.placed: list[_Placed] = []
        self.major = 3  # the engine's Prometheus major version, known once the session opens
        self.cache: blockcache.BlockCache | None = None
        self.tool = ""  # the promtool that makes blocks: part of every cache key

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> ReplaySession:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        server, self.server = self.server, None
        try:
            if server is not None:
                server.stop()
        finally:
            workdir, self.workdir = self.workdir, None
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

    def _open(self) -> None:
        if find_binary("prometheus") is None:
            raise EngineError("no prometheus binary found (install Debian's prometheus package: /usr/bin/prometheus)")
        if find_binary("promtool") is None:
            raise EngineError("no promtool binary found (install Debian's prometheus package: /usr/bin/promtool)")
        self.major = engine_major()
        if self.options.block_cache:
            self.cache = blockcache.default_cache()
            promtool = find_binary("promtool")
            self.tool = f"{promtool}:{binary_version(promtool) if promtool else ''}"
        for case in self.cases:
            if isinstance(case, Case) and case.end_ms < case.start_ms:
                raise EngineError(f"case ends ({case.end_ms} ms) before it starts ({case.start_ms} ms)")
        self.progress("check rules", 0.0)
        try:
            if self.rule_files:
                check_rules(self.rule_files)
            self.groups = order_groups(load_rule_groups(self.rule_files), self.options.group_eval_order)
        except RuleFileError as exc:
            raise EngineError(str(exc)) from None
        exprs = [r.expr for g in self.groups for r in g.rules]
        gap = max(MIN_GAP_MS, 2 * (longest_duration_ms(exprs) + LOOKBACK_MS))
        align = 1
        for interval in self._intervals():
            align = _lcm(align, interval)
        self.workdir = Path(tempfile.mkdtemp(prefix="obsbox-replay-"))
        data_dir = self.workdir / "data"
        data_dir.mkdir()
        self.progress("backfill", 0.1)
        if not self._build(data_dir, gap, align, split=True):
            # The halves of the largest file shared a series: backfill it again, uncut.
            server, self.server = self.server, None
            if server is not None:
                server.stop()
            shutil.rmtree(data_dir)
            data_dir.mkdir()
            self._build(data_dir, gap, align, split=False)

    def _build(self, data_dir: Path, gap: int, align: int, *, split: bool) -> bool:
        """Backfill every case and start Prometheus; False when the largest file was cut in two
        and Prometheus shows a series in both halves (nothing is written then)."""
        assert self.workdir is not None
        produced = self._produced_names() if self.options.drop_rule_outputs_from_input else set()
        fast = self._start_fast_backfill(produced, split=split)
        try:
            # Other big recordings are streamed too, shifted in time as they are copied; the
            # rest are read while promtool works on the largest.
            streamed = self._streamed_cases(produced, None if fast is None else fast.index)
            cases: list[Case | None] = [
                streamed.get(i) if (fast is None or i != fast.index) and i in streamed else
                None if fast is not None and i == fast.index else self._read_case(c)
                for i, c in enumerate(self.cases)
            ]
            fast_index = None
            if fast is not None:
                done = self._finish_fast_backfill(fast)
                if done is None:
                    # The file goes through Python after all (memory grows with its size): said as a stage.
                    why = fast.backfill.problem or "promtool's accounting disagrees"
                    self.progress(f"read {fast.case.path.name} whole ({why})", 0.1)
                    cases[fast.index] = self._read_case(fast.case)
                else:
                    cases[fast.index] = done
                    fast_index = fast.index
        except BaseException:
            if fast is not None:
                fast.backfill.cancel()
            raise
        try:
            prepared = [
                c
                if i == fast_index or i in streamed
                else Case(prepare([s for s in c.series if s.labels.get("__name__") not in produced]), c.start_ms, c.end_ms)
                for i, c in enumerate(_all_read(cases))
            ]
        except BackfillError as exc:
            raise EngineError(f"cannot backfill: {exc}") from None
        # A case backfilled from its own file keeps its time (shift 0): it is laid out first.
        order = list(range(len(prepared)))
        if fast_index is not None:
            order.remove(fast_index)
            order.insert(0, fast_index)
        in_order = layout([prepared[i] for i in order], gap, align, latest_ms=int(time.time() * 1000))
        self.placed = [in_order[order.index(i)] for i in range(len(prepared))]
        plain_parts: list[tuple[Sequence[Series], int]] = []
        stale_parts: list[Series] = []
        for i, p in enumerate(self.placed):
            if i in streamed:
                case = self.cases[i]
                assert isinstance(case, FileCase)
                self._stream_backfill(case, p.shift_ms, data_dir)
                continue
            if i == fast_index:
                continue
            plain, with_markers = split_stale(p.case.series)
            plain_parts.append((plain, p.shift_ms))
            stale_parts.extend(_shifted(s, p.shift_ms) for s in with_markers)
        try:
            backfill(plain_parts, data_dir, self.workdir, cache=self.cache, tool=self.tool)
        except BackfillError as exc:
            raise EngineError(str(exc)) from None
        self.progress("start prometheus", 0.2)
        self.server = PrometheusServer(
            data_dir,
            self.workdir,
            evaluation_interval_s=self.options.evaluation_interval_ms / 1000,
        )
        try:
            self.server.start()
            if fast is not None and fast_index is not None and fast.backfill.series_to_check is not None:
                low, high = self.placed[fast_index].case.data_range or (0, 0)
                if self.server.series_count(low, high) != fast.backfill.series_to_check:
                    return False
            if stale_parts:
                self._write(stale_parts)
        except PrometheusError as exc:
            raise EngineError(str(exc)) from None
        return True

    def _write(self, series: Sequence[Series]) -> None:
        """Append samples to the running Prometheus through its remote-write receiver.

        Prometheus 3.x refuses remote-written samples more than 10 minutes ahead of its clock
        (promtool tests may run to the year 2262): on 3.x those go in as blocks made by promtool's
        backfiller, and Prometheus is restarted over them. A block cannot hold a staleness marker,
        so a marker that late is an error rather than a silently different answer.
        """
        server = self._server()
        later: list[Series] = []
        if engine_major(server.binary) >= 3:
            limit = int(time.time() * 1000) + FUTURE_MARGIN_MS
            near: list[Series] = []
            for s in series:
                stamps = list(s.timestamps_ms)
                if not stamps or stamps[-1] <= limit:
                    near.append(s)
                    continue
                k = bisect_right(stamps, limit)
                if k:
                    near.append(Series(s.labels, stamps[:k], list(s.values)[:k]))
                values = list(s.values)[k:]
                stale_at = next((t for t, v in zip(stamps[k:], values) if is_stale(v)), None)
                if stale_at is not None:
                    raise PrometheusError(
                        f"series {format_series_name(s.labels)} ends with a staleness marker at {stale_at} ms, "
                        "later than Prometheus 3 takes through remote write (10 minutes ahead of its clock), "
                        "and a backfilled block cannot hold the marker"
                    )
                later.append(Series(s.labels, stamps[k:], values))
            series = near
        if series:
            server.write(series)
        if later:
            assert self.workdir is not None
            server.stop()
            try:
                backfill([(later, 0)], server.data_dir, self.workdir)
            except BackfillError as exc:
                raise PrometheusError(str(exc)) from None
            server.start()

    def _start_fast_backfill(self, produced: set[str], *, split: bool) -> _FastBackfill | None:
        """Start promtool on the largest recording file, as it is, if it may go that way: its
        case keeps its own time, and it holds no series the rules produce (those are dropped)."""
        assert self.workdir is not None
        files = [(i, c) for i, c in enumerate(self.cases) if isinstance(c, FileCase)]
        if not files:
            return None
        try:
            index, case = max(files, key=lambda item: item[1].path.stat().st_size)
        except OSError:
            return None  # the reader reports it, with the file's name
        fast = _FastBackfill(index, case, tsdb.FileBackfill(case.path, self.workdir / "fast-blocks", split=split))
        if self.cache is not None:
            try:
                fast.key = blockcache.key_of("file", self.cache.digest(case.path), self.tool, f"split={split}")
            except OSError:
                return None  # the reader reports it, with the file's name
            cached = self.workdir / "fast-blocks" / "cached"
            info = self.cache.get(fast.key, cached)
            if info is not None:
                fast.backfill.outs = sorted(p for p in cached.iterdir() if p.is_dir())
                fast.backfill.blocks = tsdb.Blocks(**info["blocks"])
                fast.backfill.series_to_check = info.get("series_to_check")
                fast.cached = True
        if not fast.cached:
            try:
                fast.backfill.start(self.workdir)
            except BackfillError as exc:
                fast.backfill.cancel()
                raise EngineError(str(exc)) from None
            except BaseException:
                # Ctrl-C between the halves' promtool runs: the one already started must not outlive us.
                fast.backfill.cancel()
                raise
        try:
            # Checked while promtool runs: input series named like a rule's output are dropped,
            # which only the strict path does.
            mentions = bool(produced) and tsdb.mentions_metric(case.path, sorted(produced))
        except OSError:
            mentions = True  # gone or unreadable: the reader reports it, with the file's name
        except BaseException:
            fast.backfill.cancel()
            raise
        if mentions:
            fast.backfill.cancel()
            return None
        return fast

    def _streamed_cases(self, produced: set[str], fast_index: int | None) -> dict[int, Case]:
        """Recordings of STREAM_MIN_BYTES or more (besides the one promtool reads as it is): their
        cases, with the data range from a streaming scan; they are never read whole."""
        out: dict[int, Case] = {}
        for i, case in enumerate(self.cases):
            if i == fast_index or not isinstance(case, FileCase):
                continue
            try:
                if case.path.stat().st_size < STREAM_MIN_BYTES:
                    continue
                if produced and tsdb.mentions_metric(case.path, sorted(produced)):
                    continue  # rule outputs in the input: dropped by the strict path only
            except OSError:
                continue  # the reader reports it, with the file's name
            first, last = data_range(case.path)
            start_ms, end_ms = case.resolve(first, last)
            out[i] = Case((), start_ms, end_ms, data_range=(first, last))
        return out

    def _stream_backfill(self, case: FileCase, shift_ms: int, data_dir: Path) -> None:
        """Backfill a recording file shifted by ``shift_ms``: copied line by line with the new
        times (bounded memory), made into blocks by promtool, checked by its accounting."""
        assert self.workdir is not None
        key = ""
        if self.cache is not None:
            key = blockcache.key_of("shifted", self.cache.digest(case.path), str(shift_ms), self.tool)
            if self.cache.get(key, data_dir) is not None:
                return
        out = self.workdir / "stream-blocks"
        shutil.rmtree(out, ignore_errors=True)
        source = self.workdir / "shifted.om"
        try:
            tsdb.write_shifted(case.path, source, shift_ms)
        except OSError as exc:
            raise EngineError(f"{case.path}: {exc.strerror or exc}") from None
        job = tsdb.FileBackfill(source, out, split=False)
        try:
            job.start(self.workdir)
            ok = job.finish() and job.blocks is not None
        except BackfillError as exc:
            raise EngineError(str(exc)) from None
        finally:
            source.unlink(missing_ok=True)
        if not ok:
            job.discard()
            self.progress(f"read {case.path.name} whole ({job.problem or 'promtool failed'})", 0.1)
            case.read()  # names the file and line of the bad data, if the strict reader sees it
            raise EngineError(f"{case.path}: promtool stored other samples than the file holds (unsorted or duplicate samples?)")
        if self.cache is not None:
            self.cache.put(key, out, {"shift_ms": shift_ms})
        job.move_to(data_dir)
        job.discard()

    def _finish_fast_backfill(self, fast: _FastBackfill) -> Case | None:
        """The case of the fast backfill, its blocks moved into the TSDB; None when promtool's
        accounting disagrees with the file (the strict reader then names the problem)."""
        assert self.workdir is not None
        if not fast.cached:
            if not fast.backfill.finish() or fast.backfill.blocks is None:
                fast.backfill.discard()
                return None
            if self.cache is not None and fast.key:
                self.cache.put(
                    fast.key,
                    fast.backfill.out_dir,
                    {"blocks": dataclasses.asdict(fast.backfill.blocks), "series_to_check": fast.backfill.series_to_check},
                )
        blocks = fast.backfill.blocks
        assert blocks is not None
        start_ms, end_ms = fast.case.resolve(blocks.min_ms, blocks.max_ms)
        fast.backfill.move_to(self.workdir / "data")
        fast.backfill.discard()
        return Case((), start_ms, end_ms, data_range=(blocks.min_ms, blocks.max_ms))

    def _read_case(self, case: Case | FileCase) -> Case:
        if isinstance(case, Case):
            return case
        series = case.read()
        start_ms, end_ms = case.resolve(*_data_range(series, case.path))
        if self.major >= 3:
            # As promtool 3.x's backfiller does to the file that goes to it as it is.
            try:
                series = tsdb.normalise_bucket_labels(case.path, series)
            except OSError as exc:
                raise EngineError(f"{case.path}:1: {exc.strerror or exc}") from None
        return Case(series, start_ms, end_ms)

    def _produced_names(self) -> set[str]:
        names = {r.record for g in self.groups for r in g.rules if r.record}
        if any(r.alert for g in self.groups for r in g.rules):
            names |= {"ALERTS", "ALERTS_FOR_STATE"}
        return names

    def _read_names(self, rules: Sequence[Rule]) -> set[str]:
        """The produced names some rule reads: only those need writing back."""
        if self.options.write_all_results:
            return self._produced_names()
        return {name for name in self._produced_names() if any(references(r.expr, name) for r in rules)}

    def _intervals(self) -> list[int]:
        if self.options.interval_override_ms:
            return [self.options.interval_override_ms]
        return [g.interval_ms for g in self.groups] or [60_000]

    def interval_of(self, group: RuleGroup) -> int:
        return self.options.interval_override_ms or group.interval_ms

    # --- evaluation ------------------------------------------------------------------------

    def run(self) -> list[Evaluation]:
        """Evaluate every rule over every case, writing rule results back for the rules that read them."""
        self._server()  # refuses a session that is not open
        rules = [r for g in self.groups for r in g.rules]
        group_of = {(g.source_file, g.name): g for g in self.groups}
        results: dict[int, list[AlertRuleResult]] = {i: [] for i in range(len(self.placed))}
        by_rule: dict[tuple[str, int, str], list[AlertRuleResult]] = {}
        rule_layers = layers(rules)
        needed = self._read_names(rules)
        done = 0
        # Queries run a few at a time (Prometheus evaluates one while Python decodes another);
        # results are used in rule order, so errors and progress are those of a serial run.
        pool = ThreadPoolExecutor(max_workers=QUERY_THREADS, thread_name_prefix="obsbox-query")
        try:
            for layer in rule_layers:
                done = self._run_layer(layer, group_of, needed, by_rule, pool, done, len(rules))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        # Report alert rules in file order, whatever layer they were evaluated in.
        for rule in rules:
            if rule.alert:
                for i, result in enumerate(by_rule[(rule.source_file, rule.line, rule.group)]):
                    results[i].append(result)
        evaluations = []
        for i, p in enumerate(self.placed):
            timestamps = {g.name: p.timestamps(self.interval_of(g)) for g in self.groups}
            evaluations.append(Evaluation(p.case.start_ms, p.case.end_ms, timestamps, tuple(results[i])))
        self.progress("done", 1.0)
        return evaluations

    def _layer_queries(
        self, layer: Sequence[Rule], group_of: Mapping[tuple[str, str], RuleGroup], pool: ThreadPoolExecutor
    ) -> Iterator[tuple[Rule, RuleGroup, int, list[QueryResult], list[QueryResult] | None]]:
        """Each rule of a layer with its query results (and its plot's), a few rules ahead in flight."""
        # One expression is always in one layer: a memo per layer shares every query there is to share.
        memo: dict[tuple[str, int], Future[list[QueryResult]]] = {}

        def query(expr: str, interval: int, where: str) -> Future[list[QueryResult]]:
            # Rules with the same expression (variants of one rule that differ only in ``for``,
            # or in the number a ``LHS > N`` compares with) share one query.
            key = (expr, interval)
            if key not in memo:
                memo[key] = pool.submit(self._query_range, expr, interval, where=where)
            return memo[key]

        def submit(rule: Rule) -> tuple[Rule, RuleGroup, int, Future[list[QueryResult]], Future[list[QueryResult]] | None]:
            group = group_of[(rule.source_file, rule.group)]
            interval = self.interval_of(group)
            split = split_threshold(rule.expr) if rule.alert and self.options.plots else None
            where = f"{rule.location}: rule {rule.name!r}"
            if split is None:
                return rule, group, interval, query(rule.expr, interval, where), None
            # ``LHS > 0.05`` is LHS where the comparison holds (same labels, name kept, LHS's
            # value): one query gives both the plot and the alert's input, half the work.
            lhs = query(split[0], interval, where)
            return rule, group, interval, lhs, lhs

        rest = iter(layer)
        pending = deque(submit(rule) for rule in islice(rest, QUERY_THREADS))
        while pending:
            rule, group, interval, main, lhs = pending.popleft()
            following = next(rest, None)
            if following is not None:
                pending.append(submit(following))
            points = main.result()
            if lhs is None:
                yield rule, group, interval, points, None
            else:
                split = split_threshold(rule.expr)
                assert split is not None
                yield rule, group, interval, compare(points, split[1], split[2]), points

    def _run_layer(
        self,
        layer: Sequence[Rule],
        group_of: Mapping[tuple[str, str], RuleGroup],
        needed: set[str],
        by_rule: dict[tuple[str, int, str], list[AlertRuleResult]],
        pool: ThreadPoolExecutor,
        done: int,
        total: int,
    ) -> int:
        self._server()  # refuses a session that is not open
        written: list[Series] = []
        for rule, group, interval, points, lhs_points in self._layer_queries(layer, group_of, pool):
            if rule.record:
                if rule.record in needed:
                    written.extend(self._recording_outputs(rule, points, interval))
            else:
                per_case = self._alert_results(rule, group, points, interval, lhs_points)
                by_rule[(rule.source_file, rule.line, rule.group)] = per_case
                if needed & {"ALERTS", "ALERTS_FOR_STATE"}:
                    for p, result in zip(self.placed, per_case):
                        stamps = p.timestamps(interval)
                        written.extend(_shifted(s, p.shift_ms) for s in alerting.alerts_series(result.alerts, stamps))
            done += 1
            self.progress("evaluate", 0.2 + 0.8 * done / max(1, total))
        if written:
            try:
                self._write(written)
            except PrometheusError as exc:
                raise EngineError(f"cannot write rule results back: {exc}") from None
        return done

    def _server(self) -> PrometheusServer:
        if self.server is None:
            raise EngineError("the replay session is not open")
        return self.server

    def _ranges(self, interval: int) -> list[tuple[int, int]]:
        """The query ranges covering every case: one over all of them, or one per case when the
        gaps between cases would make most of the points (long lookbacks mean long gaps)."""
        spans = sorted((p.case.start_ms + p.shift_ms, p.case.end_ms + p.shift_ms) for p in self.placed)
        whole = (min(s for s, _ in spans), max(e for _, e in spans))
        inside = sum((end - start) // interval + 1 for start, end in spans)
        if (whole[1] - whole[0]) // interval + 1 <= 2 * inside:
            return [whole]
        return spans

    def _query_rule(self, rule: Rule, interval: int) -> list[QueryResult]:
        return self._query_range(rule.expr, interval, where=f"{rule.location}: rule {rule.name!r}")

    def _query_range(self, expr: str, interval: int, *, where: str) -> list[QueryResult]:
        if not self.placed:
            return []
        merged: dict[LabelKey, QueryResult] = {}
        try:
            for start, end in self._ranges(interval):
                for r in self._server().query_range(expr, start, end, interval):
                    entry = merged.setdefault(label_key(r.labels), QueryResult(r.labels, []))
                    entry.points.extend(r.points)
        except PrometheusError as exc:
            raise EngineError(f"{where}: {exc}") from None
        return list(merged.values())

    def _per_case(self, points: list[QueryResult], interval: int) -> list[list[tuple[dict[str, str], list[float | None]]]]:
        """Each case's view of a range result: (labels, value at each of its evaluations)."""
        # Each case's first evaluation (in TSDB time) and number of evaluations.
        grids = [(p.case.start_ms + p.shift_ms, (p.case.end_ms - p.case.start_ms) // interval + 1) for p in self.placed]
        out: list[list[tuple[dict[str, str], list[float | None]]]] = [[] for _ in self.placed]
        for r in points:
            stamps = list(map(itemgetter(0), r.points))  # in time order: ranges and chunks are
            for c, (base, size) in enumerate(grids):
                lo = bisect_left(stamps, base)
                hi = bisect_right(stamps, base + (size - 1) * interval)
                if lo == hi:
                    continue  # no value in this case (points in the gap between cases are dropped)
                row: list[float | None] = [None] * size
                first = stamps[lo]
                if (first - base) % interval == 0 and stamps[lo:hi] == list(range(first, stamps[hi - 1] + 1, interval)):
                    k = (first - base) // interval
                    row[k : k + hi - lo] = map(itemgetter(1), r.points[lo:hi])
                else:
                    for ts, v in r.points[lo:hi]:
                        offset = ts - base
                        if offset % interval == 0:
                            row[offset // interval] = v
                out[c].append((r.labels, row))
        return out

    def _recording_outputs(self, rule: Rule, points: list[QueryResult], interval: int) -> list[Series]:
        assert rule.record is not None
        series = []
        for p, rows in zip(self.placed, self._per_case(points, interval)):
            stamps = [ts + p.shift_ms for ts in p.timestamps(interval)]
            merged: dict[LabelKey, tuple[dict[str, str], list[float | None]]] = {}
            for labels, values in rows:
                out = {**labels, "__name__": rule.record}
                for k, v in rule.labels.items():
                    if v:
                        out[k] = v
                    else:
                        out.pop(k, None)
                key = label_key(out)
                if key in merged:
                    # Prometheus fails the rule here; so does the replay, instead of picking one.
                    raise EngineError(
                        f"{rule.location}: rule {rule.name!r}: vector contains metrics with the same labelset after applying rule labels"
                    )
                merged[key] = (out, values)
            for out, values in merged.values():
                series.append(alerting.with_stale_markers(out, stamps, values))
        return series

    def _alert_results(
        self,
        rule: Rule,
        group: RuleGroup,
        points: list[QueryResult],
        interval: int,
        lhs_points: list[QueryResult] | None = None,
    ) -> list[AlertRuleResult]:
        assert rule.alert is not None
        plot_rows: list[list[tuple[dict[str, str], list[float | None]]]] | None = None
        split = split_threshold(rule.expr) if self.options.plots else None
        if split is not None:
            if lhs_points is None:
                lhs_points = self._query_range(split[0], interval, where=f"{rule.location}: left-hand side of {rule.name!r}")
            plot_rows = self._per_case(lhs_points, interval)
        results = []
        for case_index, (p, rows) in enumerate(zip(self.placed, self._per_case(points, interval))):
            stamps = p.timestamps(interval)
            per_ts: list[dict[LabelKey, AlertSample]] = [{} for _ in stamps]
            for labels, values in rows:
                for k, v in enumerate(values):
                    if v is None:
                        continue
                    alert_labels = self.alert_labels(rule, labels, v)
                    key = label_key(alert_labels)
                    if key in per_ts[k]:
                        raise EngineError(
                            f"{rule.location}: alert {rule.name!r}: vector contains metrics with the same labelset "
                            "after applying alert labels"
                        )
                    per_ts[k][key] = AlertSample(alert_labels, v, labels)
            timelines: list[AlertTimeline] = alerting.run_state_machine(
                stamps, per_ts, for_ms=rule.for_ms, keep_firing_for_ms=rule.keep_firing_for_ms
            )
            plot = None
            if split is not None and plot_rows is not None:
                plot = ExpressionPlot(
                    split[0],
                    split[1],
                    split[2],
                    tuple(PlotSeries(dict(lbl), tuple(vals)) for lbl, vals in plot_rows[case_index]),
                )
            results.append(
                AlertRuleResult(
                    group=rule.group,
                    name=rule.alert,
                    expr=rule.expr,
                    for_s=rule.for_ms / 1000,
                    keep_firing_for_s=rule.keep_firing_for_ms / 1000,
                    labels=dict(rule.labels),
                    annotations=dict(rule.annotations),
                    source_file=rule.source_file,
                    interval_s=interval / 1000,
                    alerts=tuple(timelines),
                    plot=plot,
                    source_line=rule.line,
                )
            )
        return results

    def alert_labels(self, rule: Rule, expr_labels: Mapping[str, str], value: float) -> dict[str, str]:
        """Expression labels without __name__, then rule labels (templated), then alertname."""
        out = {k: v for k, v in expr_labels.items() if k != "__name__"}
        for name, template in rule.labels.items():
            text = template
            if "{{" in template:
                try:
                    text = render(template, self.template_data(expr_labels, value))
                except (TemplateUnsupported, TemplateError) as exc:
                    raise EngineError(f"{rule.location}: label {name} of {rule.name!r}: {exc}") from None
            if text:
                out[name] = text
            else:
                out.pop(name, None)
        out["alertname"] = rule.alert or ""
        return out

    def template_data(self, labels: Mapping[str, str], value: float) -> TemplateData:
        return TemplateData(dict(labels), value, dict(self.options.external_labels), self.options.external_url)

    def query(self, case_index: int, expr: str, at_ms: int) -> tuple[str, list[QueryResult]]:
        """An instant query at ``at_ms`` in the case's own time (raises PrometheusError)."""
        p = self.placed[case_index]
        kind, rows = self._server().query(expr, at_ms + p.shift_ms)
        return kind, [QueryResult(r.labels, [(t - p.shift_ms, v) for t, v in r.points]) for r in rows]


def _all_read(cases: Sequence[Case | None]) -> list[Case]:
    out = [c for c in cases if c is not None]
    assert len(out) == len(cases)
    return out


@dataclass
class _FastBackfill:
    index: int
    case: FileCase
    backfill: tsdb.FileBackfill
    key: str = ""  # in the block cache
    cached: bool = False  # the blocks came from the cache: no promtool ran


def _shifted(series: Series, shift_ms: int) -> Series:
    if shift_ms == 0:
        return series
    return Series(series.labels, [t + shift_ms for t in series.timestamps_ms], series.values)


_COMPARE = {"==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def compare(rows: Sequence[QueryResult], op: str, threshold: float) -> list[QueryResult]:
    """``rows <op> threshold`` as PromQL filters a vector by a scalar: the points where the
    comparison holds, labels (``__name__`` included) and values unchanged; series left empty go."""
    test = _COMPARE[op]
    out = []
    for r in rows:
        kept = list(compress(r.points, map(test, map(itemgetter(1), r.points), repeat(threshold))))
        if kept:
            out.append(QueryResult(r.labels, kept))
    return out


def evaluate_many(
    rule_files: Sequence[Path],
    cases: Sequence[Case | FileCase],
    *,
    progress: Progress | None = None,
    options: SessionOptions | None = None,
) -> list[Evaluation]:
    """Evaluate several independent cases in one TSDB and one Prometheus (one Evaluation each)."""
    if not cases:
        return []
    with ReplaySession(rule_files, cases, options=options, progress=progress) as session:
        return session.run()


def evaluate(
    rule_files: Sequence[Path],
    series: Sequence[Series],
    start_ms: int,
    end_ms: int,
    *,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate the rule files over ``series`` from ``start_ms`` to ``end_ms`` (inclusive)."""
    return evaluate_many(rule_files, [Case(series, start_ms, end_ms)], progress=progress)[0]
