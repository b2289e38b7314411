"""`obsbox promtool-test` and `obsbox export-promtool`: promtool compatibility both ways.

Exit status: 0 when everything passed (or was written), 1 when a test failed or used a template
outside obsbox's subset, 2 on bad input (one line on stderr naming file and line), 130 on Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from obsbox.commands._engine import PrometheusOption, select_engine
from obsbox.commands._exit import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, fail


def promtool_test(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="promtool unit-test files (the format of `promtool test rules`).")],
    prometheus: PrometheusOption = None,
) -> None:
    """Run promtool unit-test files through obsbox's engine and report each test group."""
    from obsbox.promtool.runner import GroupResult, run_test_file

    select_engine(prometheus)

    console = Console(highlight=False, soft_wrap=True)
    failed = False
    bad_input = False
    try:
        for path in files:
            console.print(f"Unit Testing: {path}", markup=False)

            def show(group: GroupResult, path: Path = path) -> None:
                label = f"group {group.index + 1}" + (f" {group.name!r}" if group.name else "") + f" ({path}:{group.line})"
                if group.passed:
                    console.print(f"  PASS {label}", markup=False)
                    return
                status = "UNSUPPORTED" if group.unsupported and all(f.kind == "unsupported" for f in group.failures) else "FAIL"
                console.print(f"  {status} {label}", markup=False)
                for failure in group.failures:
                    console.print(f"    {path}:{failure.line}: {failure.kind}: {failure.message}", markup=False)

            result = run_test_file(path, on_group=show)
            if result.error is not None:
                Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {result.error}", markup=False)
                bad_input = True
                continue
            if not result.passed:
                failed = True
            passed = sum(g.passed for g in result.groups)
            console.print(f"  {passed} of {len(result.groups)} group(s) passed", markup=False)
    except KeyboardInterrupt:
        raise fail("interrupted; temporary data removed and Prometheus stopped", EXIT_INTERRUPTED) from None
    if bad_input:
        raise typer.Exit(EXIT_BAD_INPUT)
    if failed:
        raise typer.Exit(EXIT_FAILED)


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
    if not out.resolve().parent.is_dir():
        raise fail(f"{out}: its directory does not exist")
    try:
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
    except KeyboardInterrupt:
        raise fail("interrupted; temporary data removed and Prometheus stopped", EXIT_INTERRUPTED) from None
    except (OpenMetricsError, EngineError, ExportError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{getattr(exc, 'filename', None) or recording}: {exc.strerror or exc}") from None
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
