"""`obsbox replay` and `obsbox import`: the rule tester's commands.

Exit status of `replay`: 0 when every manifest's expectations hold, 1 when some do not, 2 on bad
input (one line on stderr naming the file and line), 130 on Ctrl-C. Reports are written only
after a complete replay, and atomically.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from obsbox.commands._engine import (
    BlockCacheOption,
    IncidentsOption,
    PrometheusOption,
    check_out_dirs,
    input_errors,
    run_errors,
    scratch_tmpdir,
    use_engine,
)
from obsbox.commands._exit import EXIT_FAILED, fail
from obsbox.commands._progress import LineProgress


def print_scores(console: Console, report: Any) -> None:
    from rich.measure import Measurement

    from obsbox.replay.report_html import DASH, fmt_caught, fmt_ratio, fmt_stat, rule_labels

    scores = report.scores
    labels = rule_labels(scores.rules)
    head = ("alert", "severity", "caught", "recall", "precision", "noise episodes", "detection med/max", "reset med/max")
    rows = [
        (
            label,
            r.severity or DASH,
            fmt_caught(r),
            fmt_ratio(r.recall),
            fmt_ratio(r.precision),
            str(r.noise_episodes),
            fmt_stat(r.detection_s),
            fmt_stat(r.reset_s),
        )
        for r, label in zip(scores.rules, labels)
    ]
    rules = Table(title="Per rule", title_justify="left")
    for column in head:
        rules.add_column(column, no_wrap=True)
    for row in rows:
        rules.add_row(*row)
    if Measurement.get(console, console.options.update_width(10**5), rules).maximum <= console.width:
        console.print(rules)
    else:
        # Too narrow for the table: rather than cut names until rows look alike, one block per
        # rule, its name whole on a line of its own.
        console.print("Per rule", markup=False, highlight=False)
        for row in rows:
            console.print(row[0], markup=False, highlight=False)
            console.print(
                "    " + " · ".join(f"{name} {value}" for name, value in zip(head[1:], row[1:])),
                markup=False,
                highlight=False,
            )
    s = scores.summary
    overall = Table(title="Overall", title_justify="left")
    for column in ("recordings", "caught", "recall", "precision", "noise pages", "detection med/max", "reset med/max"):
        overall.add_column(column, overflow="fold")
    overall.add_row(
        str(s.recordings),
        f"{s.caught} of {s.windows}" if s.windows else DASH,
        fmt_ratio(s.recall),
        fmt_ratio(s.precision),
        str(s.noise_pages),
        fmt_stat(s.detection_s),
        fmt_stat(s.reset_s),
    )
    console.print(overall)
    for failure in s.window_failures:
        console.print(f"FAIL {failure}", markup=False, highlight=False)
    # Pages on noise: one line per rule, not one per episode.
    for quiet in s.quiet:
        console.print(f"FAIL {quiet.describe()}", markup=False, highlight=False)
    if s.passed:
        console.print("all expectations hold", markup=False)
    else:
        quiet = sum(q.episodes for q in s.quiet)
        parts = [f"{len(s.window_failures)} incident expectation(s) failed"] if s.window_failures else []
        if quiet:
            parts.append(f"{quiet} episode(s) of a severity that must stay quiet")
        console.print(f"{len(s.failures)} expectation(s) failed: " + ", ".join(parts), markup=False)


class _ProgressAdapter:
    """Turns the engine's ``progress(stage, fraction)`` calls into a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("replaying", total=100)

    def __call__(self, stage: str, fraction: float) -> None:
        self.progress.update(self.task, completed=round(100 * fraction), description=str(stage))


def replay(
    rules: Annotated[list[Path], typer.Option("--rules", metavar="PATH", help="Rule file or directory of rule files; more paths may follow it, or repeat it.")],
    incidents: IncidentsOption,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the JSON report here.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML report here.")] = None,
    score_by: Annotated[
        str,
        typer.Option(
            "--score-by",
            metavar="name|severity|labels",
            help=(
                "How incidents' expectations match alerts: by the alert name they give (default); by "
                "severity (any alert of the named alert's severity, for testing rules of your own "
                "against the shipped corpus); or by labels (any notifying alert carrying the "
                "expectation's labels)."
            ),
        ),
    ] = "name",
    more_rules: Annotated[
        list[Path] | None, typer.Argument(metavar="PATH", help="More rule files, so that `--rules A B C` works.", show_default=False)
    ] = None,
    block_cache: BlockCacheOption = None,
    prometheus: PrometheusOption = None,
) -> None:
    """Replay recorded incidents and noise through alert rules and score the rules."""
    rules = [*rules, *(more_rules or [])]
    from obsbox.formats import write_atomically
    from obsbox.replay.report_html import load_plotly_js, render_html
    from obsbox.replay.report_json import render_json
    from obsbox.replay.runner import run_replay

    engine = use_engine(prometheus, block_cache)

    # Piped into a file or a log (CI, make demo), rich would cut the tables at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=180)
    if score_by not in ("name", "severity", "labels"):
        raise fail(f"--score-by must be name, severity or labels, not {score_by!r}")
    check_out_dirs(json_out, html_out)
    with run_errors(input_errors()):
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            # Off a terminal (CI, a pipe, a log) a live bar only leaves a blank line before any
            # error; on a terminal it is transient and erased.
            disable=not sys.stderr.isatty(),
        ) as bar, scratch_tmpdir():
            progress = _ProgressAdapter(bar) if sys.stderr.isatty() else LineProgress("replay")
            report = run_replay(rules, incidents, progress=progress, score_by=score_by)
        json_text = render_json(report.scores, engine=engine) if json_out is not None else None
        html_text = (
            render_html(report.scores, report.pairs, plotly_js=load_plotly_js(), engine=engine)
            if html_out is not None
            else None
        )
        if json_out is not None and json_text is not None:
            write_atomically(json_out, json_text)
        if html_out is not None and html_text is not None:
            write_atomically(html_out, html_text)
    print_scores(console, report)
    console.print(engine.banner + (f" (warning: {engine.warning})" if engine.warning else ""), markup=False)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


import_app = typer.Typer(
    help="Turn other formats into recordings (manifest + OpenMetrics).", no_args_is_help=True, rich_markup_mode=None
)


class _Imported(Protocol):
    @property
    def manifests(self) -> Sequence[Path]: ...


_I = TypeVar("_I", bound=_Imported)


def _run_import(do: Callable[[], _I]) -> _I:
    """Run an importer: bad input as one line on stderr (exit 2), else the manifests written on stdout."""
    errors: tuple[type[BaseException], ...] = (*input_errors(), ValueError)
    try:
        result = do()
    except errors as exc:
        raise fail(str(exc)) from None
    for path in result.manifests:
        print(path)
    return result


@import_app.command("promtool")
def import_promtool(
    test_file: Annotated[Path, typer.Argument(metavar="FILE", help="A promtool rule test file.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory to write recordings into.")],
) -> None:
    """Promtool test groups as recordings: every alert_rule_test becomes a point check (labels,
    annotations, expected silence); times with expected alerts also become incidents. Prints the
    manifests written, then a summary naming, per test, what a recording cannot carry."""
    from obsbox.importers.promtool import import_test_file

    summary = _run_import(lambda: import_test_file(test_file, out))
    for line in summary.lines():
        print(line, file=sys.stderr)


@import_app.command("nab")
def import_nab(
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="NAB-style CSV with a header timestamp,value.")],
    windows: Annotated[Path, typer.Option("--windows", metavar="FILE", help="NAB labelled-windows JSON.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory to write the recording into.")],
    metric: Annotated[str, typer.Option("--metric", metavar="NAME", help="Metric name for the series.")] = "nab_value",
    alert: Annotated[str | None, typer.Option("--expect-alert", metavar="ALERTNAME", help="Alert that must fire (default: any critical).")] = None,
    severity: Annotated[str, typer.Option("--expect-severity", metavar="SEVERITY", help="Severity that must fire when no alert is named.")] = "critical",
    within: Annotated[str | None, typer.Option("--within", metavar="DURATION", help="How soon after a window's start it must fire (default: within the window).")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Sort rows by time and keep the first of repeated timestamps, listing each change.")] = False,
) -> None:
    """A NAB data file and its labelled anomaly windows as recordings: one incident per window
    (fire inside it), or one noise recording. Warns of gaps and of samples sparser than the 5m lookback."""
    from obsbox.importers.nab import NabOptions, import_nab_file

    options = NabOptions(metric=metric, alert=alert, severity=severity, within=within)
    result = _run_import(lambda: import_nab_file(csv_file, windows, out, options, repair=repair))
    for line in result.repairs:
        print(f"repaired: {line}", file=sys.stderr)
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("replay")(replay)
    app.add_typer(import_app, name="import")
