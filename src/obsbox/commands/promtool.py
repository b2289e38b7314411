"""`obsbox promtool-test` and `obsbox export-promtool`: promtool compatibility both ways.

Exit status of promtool-test: 0 when every group passed, 1 when an assertion failed, 3 when no
assertion failed but a group could not be evaluated (neither obsbox nor promtool could judge it),
2 on bad input (one line on stderr naming file and line), 130 on Ctrl-C. export-promtool: 0, 2, 130.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from obsbox.commands._engine import PrometheusOption, check_out_dirs, run_errors, select_engine
from obsbox.commands._exit import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_EVALUATED, fail


def promtool_test(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="promtool unit-test files (the format of `promtool test rules`).")],
    prometheus: PrometheusOption = None,
) -> None:
    """Run promtool unit-test files through obsbox's engine and report each test group.

    One Prometheus per file where the groups allow it. A group whose templates obsbox cannot
    render (with, if, range, humanizeTimestamp, ...) is judged by the real promtool of the same
    release, and says so.

    Exit status: 0 every group passed; 1 an assertion failed; 3 nothing failed but a group could
    not be evaluated (CANNOT EVALUATE: neither obsbox nor promtool could judge it); 2 bad input;
    130 interrupted.
    """
    from obsbox.promtool.runner import GroupResult, run_test_file

    select_engine(prometheus)

    console = Console(highlight=False, soft_wrap=True)
    failed = False
    bad_input = False
    not_evaluated = False
    try:
        for path in files:
            console.print(f"Unit Testing: {path}", markup=False)

            def show(group: GroupResult, path: Path = path) -> None:
                label = f"group {group.index + 1}" + (f" {group.name!r}" if group.name else "") + f" ({path}:{group.line})"
                if group.judge == "promtool":
                    label += f" [judged by promtool: {group.why}]"
                if group.passed:
                    console.print(f"  PASS {label}", markup=False)
                    return
                if not group.evaluated:
                    console.print(f"  CANNOT EVALUATE {label}", markup=False)
                    for failure in group.failures:
                        console.print(f"    {path}:{failure.line}: cannot evaluate: {failure.message}", markup=False)
                    return
                console.print(f"  FAIL {label}", markup=False)
                for failure in group.failures:
                    console.print(f"    {path}:{failure.line}: {failure.kind}: {failure.message}", markup=False)

            result = run_test_file(path, on_group=show)
            if result.error is not None:
                Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {result.error}", markup=False)
                bad_input = True
                continue
            failed |= any(not g.passed and g.evaluated for g in result.groups)
            skipped = sum(not g.evaluated for g in result.groups)
            not_evaluated |= skipped > 0
            passed = sum(g.passed for g in result.groups)
            tail = f"; {skipped} could not be evaluated" if skipped else ""
            console.print(f"  {passed} of {len(result.groups)} group(s) passed{tail}", markup=False)
    except KeyboardInterrupt:
        raise fail("interrupted; temporary data removed and Prometheus stopped", EXIT_INTERRUPTED) from None
    if bad_input:
        raise typer.Exit(EXIT_BAD_INPUT)
    if failed:
        raise typer.Exit(EXIT_FAILED)
    if not_evaluated:
        raise typer.Exit(EXIT_NOT_EVALUATED)


def export_promtool(
    rules: Annotated[list[Path], typer.Option("--rules", metavar="FILE", help="Rule file; repeat for more.")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="The promtool test file to write.")],
    recording: Annotated[
        Path | None, typer.Option("--recording", metavar="FILE", help="A recording manifest (YAML) or an OpenMetrics file.")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", metavar="TIME", help="With an OpenMetrics file: RFC 3339 or epoch seconds.")] = None,
    end: Annotated[str | None, typer.Option("--end", metavar="TIME", help="With an OpenMetrics file: RFC 3339 or epoch seconds.")] = None,
    prometheus: PrometheusOption = None,
) -> None:
    """Replay a recording and write its alert timeline as a promtool test file, for promtool to check."""
    from obsbox.promtool.export import ExportCase, ExportError
    from obsbox.promtool.export import export_promtool as write_export
    from obsbox.replay.engine import EngineError, evaluate
    from obsbox.replay.openmetrics import OpenMetricsError, read_series

    if recording is None:
        raise fail("--recording is required (a manifest or an OpenMetrics file)")
    select_engine(prometheus)
    check_out_dirs(out)
    with run_errors((OpenMetricsError, EngineError, ExportError), unnamed=recording):
        if recording.suffix in (".yaml", ".yml"):
            from obsbox.replay.recording import RecordingError, load_recording

            try:
                loaded = load_recording(recording)
            except RecordingError as exc:
                raise fail(str(exc)) from None
            series, start_ms, end_ms, name = loaded.series, loaded.start_ms, loaded.end_ms, loaded.name
        else:
            series = read_series(recording)
            start_ms = _time(start, min(s.timestamps_ms[0] for s in series), "--start")
            end_ms = _time(end, max(s.timestamps_ms[-1] for s in series), "--end")
            name = recording.stem
        evaluation = evaluate(rules, series, start_ms, end_ms)
        write_export(rules, [ExportCase(evaluation, series, name)], out)
    Console(highlight=False, soft_wrap=True).print(f"wrote {out}; check it with: promtool test rules {out}", markup=False)


def _time(text: str | None, default: int, flag: str) -> int:
    if text is None:
        return default
    from obsbox.formats import parse_time_ms

    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise fail(f"{flag}: {exc}") from None


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("promtool-test")(promtool_test)
    app.command("export-promtool")(export_promtool)
