"""promtool rule test files as recordings.

Each test group's ``input_series`` become one OpenMetrics data file (time 0 = the group's start,
as in promtool). Every ``eval_time`` of an ``alert_rule_test`` that expects alerts becomes one
incident recording: an impact window opening at that time, and each expected alert (its
alertname and ``exp_labels``) must be firing there (``within: 0s``). What a recording cannot
say is reported as a note, not dropped silently: tests expecting no alert, staleness markers
(OpenMetrics has none), and ``promql_expr_test`` entries.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from obsbox.formats import format_duration
from obsbox.importers.common import recording_name
from obsbox.promtool.testfile import AlertRuleTest, TestGroup, load_test_file
from obsbox.replay.model import Series, is_stale
from obsbox.replay.recording import load_recording, write_data, write_manifest


def group_series(group: TestGroup) -> tuple[list[Series], int]:
    """The group's input series with timestamps; also how many staleness markers were dropped."""
    out = []
    dropped = 0
    for s in group.input_series:
        timestamps: list[int] = []
        values: list[float] = []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            if is_stale(value):
                dropped += 1
                continue
            timestamps.append(i * group.interval_ms)
            values.append(value)
        if timestamps:
            out.append(Series(dict(s.labels), timestamps, values))
    return out, dropped


def import_test_file(path: Path | str, out_dir: Path | str) -> tuple[list[Path], list[str]]:
    """Write recordings for a promtool test file; returns the manifests written and notes."""
    path = Path(path)
    out_dir = Path(out_dir)
    test_file = load_test_file(path)
    stem = recording_name(path.stem.replace(".", "-"))
    written: list[Path] = []
    notes: list[str] = []
    for g, group in enumerate(test_file.tests):
        where = f"{path}:{group.line}: test group {g}"
        series, dropped = group_series(group)
        if dropped:
            notes.append(f"{where}: {dropped} staleness marker(s) dropped (OpenMetrics cannot carry them)")
        if group.promql_expr_tests:
            notes.append(f"{where}: {len(group.promql_expr_tests)} promql_expr_test(s) not imported")
        negative = [t for t in group.alert_rule_tests if not t.exp_alerts]
        for t in negative:
            notes.append(f"{path}:{t.line}: alert_rule_test expecting no {t.alertname} alert not imported")
        by_time: dict[int, list[AlertRuleTest]] = defaultdict(list)
        for t in group.alert_rule_tests:
            if t.exp_alerts:
                by_time[t.eval_time_ms].append(t)
        if not by_time:
            continue
        if not series:
            notes.append(f"{where}: no input samples; nothing to replay")
            continue
        last = max(s.timestamps_ms[-1] for s in series)
        data_name = f"{stem}-g{g}.om"
        write_data(out_dir / data_name, series)
        for eval_ms, tests in sorted(by_time.items()):
            if eval_ms >= last:
                notes.append(
                    f"{path}:{tests[0].line}: eval_time {format_duration(eval_ms / 1000)} is at or after the last "
                    "input sample; a recording's windows must lie inside its data, so it is not imported"
                )
                continue
            name = f"{stem}-g{g}-at-{format_duration(eval_ms / 1000)}"
            manifest: dict[str, Any] = {
                "name": name,
                "kind": "incident",
                "description": (
                    f"promtool test group {g} of {path.name}: at {format_duration(eval_ms / 1000)} "
                    + ", ".join(sorted({t.alertname for t in tests}))
                    + " must be firing."
                ),
                "source": "imported",
                "source_detail": f"{path.name} (rule files: {', '.join(str(r) for r in test_file.rule_files)})",
                "data": data_name,
                "start": 0,
                "windows": [{"start": eval_ms / 1000, "end": min(eval_ms + group.interval_ms, last) / 1000}],
                "expect": {
                    "fire": [
                        {"alert": t.alertname, "within": "0s", **({"labels": dict(a.labels)} if a.labels else {})}
                        for t in tests
                        for a in t.exp_alerts
                    ]
                },
            }
            manifest_path = write_manifest(out_dir, manifest)
            load_recording(manifest_path)  # what we wrote must read back
            written.append(manifest_path)
    if not written:
        notes.append(f"{path}: no alert_rule_test expecting alerts, so no recordings were written")
    return written, notes

