"""promtool rule test files as recordings.

Each test group's ``input_series`` become one OpenMetrics data file (time 0 = the group's start,
as in promtool), written only when a manifest of the group uses it. Every ``alert_rule_test``
becomes a point check (``expect.alerts_at``): at its ``eval_time`` the firing alerts of its name
are exactly the expected ones, labels and annotations, so expected silence is carried too. An
``eval_time`` with expected alerts inside the data also becomes an incident (an impact window
opening there, each expected alert firing within 0s; at the last sample, a window closing there),
so recall counts it; the group's other checks ride on its first incident, or, in a group without
one, go into one noise recording (no severity must stay quiet there: only the checks judge it).

What a recording cannot carry is named, per test, in the import's summary: ``promql_expr_test``
entries (a recording has no instant-query expectations), staleness markers (OpenMetrics has
none; checks within the lookback after one are named as affected), and rule groups evaluated
at another interval than the test file's ``evaluation_interval`` (the replay uses each group's
own interval, promtool the file's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsbox.formats import format_duration
from obsbox.importers.common import recording_name
from obsbox.promtool.testfile import AlertRuleTest, TestFile, TestGroup, load_test_file
from obsbox.replay.model import Series, is_stale
from obsbox.replay.recording import load_recording, write_data, write_manifest
from obsbox.replay.rules import RuleFileError, load_rule_groups

# How long a sample stays visible after it was written (Prometheus' default lookback delta).
LOOKBACK_MS = 5 * 60_000


@dataclass
class ImportSummary:
    """What an import wrote and, per test, what it could not carry."""

    manifests: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)
    alert_tests: int = 0
    carried_alert_tests: int = 0
    silent_tests: int = 0  # alert tests expecting no alert (carried as checks)
    incidents: int = 0
    not_carried: list[str] = field(default_factory=list)  # "file:line: what and why", one per test
    notes: list[str] = field(default_factory=list)  # about a group or the file

    def lines(self) -> list[str]:
        head = (
            f"imported {self.carried_alert_tests} of {self.alert_tests} alert_rule_test(s) "
            f"({self.silent_tests} expecting silence) into {len(self.manifests)} recording(s), "
            f"{self.incidents} of them incidents, with {len(self.data_files)} data file(s)"
        )
        out = [head]
        if self.not_carried:
            out.append(f"not carried ({len(self.not_carried)}):")
            out.extend(f"  {line}" for line in self.not_carried)
        out.extend(f"note: {line}" for line in self.notes)
        return out


def input_interval_ms(test_file: TestFile, group: TestGroup) -> int:
    """The spacing of a group's input samples, as promtool 3.x reads them (``interval``, else
    ``evaluation_interval``)."""
    return group.interval_ms or test_file.evaluation_interval_ms


def group_series(test_file: TestFile, group: TestGroup) -> tuple[list[Series], list[int]]:
    """The group's input series with timestamps; also the times of the staleness markers dropped."""
    step = input_interval_ms(test_file, group)
    out = []
    dropped: list[int] = []
    for s in group.input_series:
        timestamps: list[int] = []
        values: list[float] = []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            if is_stale(value):
                dropped.append(i * step)
                continue
            timestamps.append(i * step)
            values.append(value)
        if timestamps:
            out.append(Series(dict(s.labels), timestamps, values))
    return out, sorted(set(dropped))


def _check(test: AlertRuleTest) -> dict[str, Any]:
    return {
        "at": test.eval_time_ms / 1000,
        "alert": test.alertname,
        "alerts": [{"labels": dict(a.labels), "annotations": dict(a.annotations)} for a in test.exp_alerts],
    }


def _interval_notes(test_file: TestFile, path: Path) -> list[str]:
    try:
        groups = load_rule_groups(test_file.rule_files)
    except (RuleFileError, OSError) as exc:
        return [f"{path}: rule files not read ({exc}); check that their groups' intervals equal evaluation_interval"]
    want = test_file.evaluation_interval_ms
    return [
        f"{g.source_file}:{g.line}: rule group {g.name!r} is evaluated every {format_duration(g.interval_ms / 1000)} in a "
        f"replay, promtool evaluates it every {format_duration(want / 1000)} (evaluation_interval): checks may differ"
        for g in groups
        if g.interval_ms != want
    ]


def import_test_file(path: Path | str, out_dir: Path | str) -> ImportSummary:
    """Write recordings for a promtool test file; returns what was written and not carried."""
    path = Path(path)
    out_dir = Path(out_dir)
    test_file = load_test_file(path)
    stem = recording_name(path.stem.replace(".", "-"))
    summary = ImportSummary()
    summary.notes.extend(_interval_notes(test_file, path))
    source_detail = f"{path.name} (rule files: {', '.join(str(r) for r in test_file.rule_files)})"
    for g, group in enumerate(test_file.tests):
        where = f"{path}:{group.line}: test group {g + 1}"
        for t in group.promql_expr_tests:
            summary.not_carried.append(
                f"{path}:{t.line}: promql_expr_test {t.expr!r} at {format_duration(t.eval_time_ms / 1000)}: "
                "a recording has no instant-query expectations"
            )
        summary.alert_tests += len(group.alert_rule_tests)
        if not group.alert_rule_tests:
            continue
        series, stale_at = group_series(test_file, group)
        if not series:
            summary.not_carried.extend(
                f"{path}:{t.line}: alert_rule_test {t.alertname} at {format_duration(t.eval_time_ms / 1000)}: "
                "the group has no input samples, and a recording needs data"
                for t in group.alert_rule_tests
            )
            continue
        if stale_at:
            affected = [t for t in group.alert_rule_tests if any(0 <= t.eval_time_ms - s < LOOKBACK_MS for s in stale_at)]
            summary.notes.append(
                f"{where}: {len(stale_at)} staleness marker time(s) dropped (OpenMetrics cannot carry them; "
                "the series stays visible for the lookback instead)"
            )
            summary.not_carried.extend(
                f"{path}:{t.line}: alert_rule_test {t.alertname} at {format_duration(t.eval_time_ms / 1000)}: carried, but "
                "within 5m after a dropped staleness marker, so the replay may see a value promtool does not"
                for t in affected
            )
        first = min(s.timestamps_ms[0] for s in series)
        last = max(s.timestamps_ms[-1] for s in series)
        latest_check = max(t.eval_time_ms for t in group.alert_rule_tests)
        data_name = f"{stem}-g{g + 1}.om"
        end_s = max(last, latest_check, test_file.evaluation_interval_ms) / 1000
        by_time: dict[int, list[AlertRuleTest]] = defaultdict(list)
        for test in group.alert_rule_tests:
            by_time[test.eval_time_ms].append(test)
        interval = test_file.evaluation_interval_ms
        manifests: list[dict[str, Any]] = []
        leftover: list[AlertRuleTest] = []
        for eval_ms, tests in sorted(by_time.items()):
            firing = [t for t in tests if t.exp_alerts]
            if firing and first <= eval_ms < last:
                # The window opens at the check: every expected alert is firing there.
                window, within = (eval_ms, min(eval_ms + interval, last)), 0
            elif firing and eval_ms == last and eval_ms - interval >= first:
                # At the last sample (a common promtool pattern): the window closes at the check,
                # and every expected alert fires by then (the check says it still fires there).
                window, within = (eval_ms - interval, eval_ms), interval
            else:
                leftover.extend(tests)  # silence, or outside the data: an impact window cannot lie there
                continue
            when = format_duration(eval_ms / 1000)
            manifests.append(
                {
                    "name": f"{stem}-g{g + 1}-at-{when}",
                    "kind": "incident",
                    "description": (
                        f"promtool test group {g + 1} of {path.name}: at {when} "
                        + ", ".join(sorted({t.alertname for t in firing}))
                        + " must be firing, exactly as expected."
                    ),
                    "source": "imported",
                    "source_detail": source_detail,
                    "data": data_name,
                    "start": 0,
                    "end": end_s,
                    "windows": [{"start": window[0] / 1000, "end": window[1] / 1000}],
                    "expect": {
                        "fire": [
                            {"alert": t.alertname, "within": format_duration(within / 1000), **({"labels": dict(a.labels)} if a.labels else {})}
                            for t in firing
                            for a in t.exp_alerts
                        ],
                        "alerts_at": [_check(t) for t in tests],
                    },
                }
            )
            summary.incidents += 1
        if leftover and manifests:
            # The group's other checks ride on its first incident (same data): a noise recording
            # would count the group's expected pages as pages on noise.
            manifests[0]["expect"]["alerts_at"].extend(_check(t) for t in leftover)
            manifests[0]["expect"]["alerts_at"].sort(key=lambda c: c["at"])
        elif leftover:
            silent = sorted({t.alertname for t in leftover if not t.exp_alerts})
            manifests.append(
                {
                    "name": f"{stem}-g{g + 1}-checks",
                    "kind": "noise",
                    "description": (
                        f"promtool test group {g + 1} of {path.name}: {len(leftover)} point check(s)"
                        + (f"; silence expected of {', '.join(silent)} where listed" if silent else "")
                        + "."
                    ),
                    "source": "imported",
                    "source_detail": source_detail,
                    "data": data_name,
                    "start": 0,
                    "end": end_s,
                    "expect": {"quiet_severities": [], "alerts_at": [_check(t) for t in leftover]},
                }
            )
        summary.carried_alert_tests += len(group.alert_rule_tests)
        summary.silent_tests += sum(1 for t in group.alert_rule_tests if not t.exp_alerts)
        write_data(out_dir / data_name, series)
        summary.data_files.append(out_dir / data_name)
        for manifest in manifests:
            manifest_path = write_manifest(out_dir, manifest)
            load_recording(manifest_path)  # what we wrote must read back
            summary.manifests.append(manifest_path)
    if not summary.manifests:
        summary.notes.append(f"{path}: no alert_rule_test could be carried, so no recordings were written")
    return summary

