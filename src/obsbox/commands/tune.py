"""`obsbox tune`: sweep one alert's parameters over the corpus, recommend a variant, show the diff.

Exit status: 0 after printing (also when the recommendation is the current rule), 2 on bad input
(one line on stderr naming the file, rule or parameter), 130 on Ctrl-C. ``--apply`` writes the
change atomically; reports are written only after a complete run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from obsbox.commands._engine import (
    BlockCacheOption,
    IncidentsOption,
    PrometheusOption,
    check_out_dirs,
    input_errors,
    os_error_message,
    run_errors,
    scratch_tmpdir,
    use_engine,
)
from obsbox.commands._exit import fail
from obsbox.commands._progress import LineProgress

if TYPE_CHECKING:
    from obsbox.tune.run import TuneResult


def _table(title: str, head: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in head:
        table.add_column(column, no_wrap=column != "changes")
    for r in rows:
        table.add_row(*r)
    return table


def tune(
    alert: Annotated[list[str] | None, typer.Option("--alert", metavar="NAME", help="An alerting rule to tune (repeatable; an SLO alert's parameters live in --slos).")] = None,
    group: Annotated[str | None, typer.Option("--group", metavar="NAME", help="Tune every alerting rule of this rule group (slo-<job>: the SLO alerts).")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", metavar="PATH", help="Rule file or directory holding the rules and the recording rules they read (repeatable). Default: alert_rules.")] = None,
    incidents: IncidentsOption = Path("alert_rules/incidents"),
    slos: Annotated[Path, typer.Option("--slos", metavar="FILE", help="The SLO file SLO alerts are rendered from (slo.rules.yaml beside it is rendered again).")] = Path("alert_rules/slos.yaml"),
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            metavar="NAME[=V1,V2,...]",
            help="Sweep this parameter (its default grid, or these values); repeatable. Without it: the first "
            "threshold that is not 0, for and keep_firing_for (SLO alerts: factor, windows, min_requests_per_hour, for).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the tune / held-out split.")] = 13,
    holdout: Annotated[bool, typer.Option("--holdout/--no-holdout", help="Also tune on one part of the corpus and score on the other.")] = True,
    apply: Annotated[bool, typer.Option("--apply", help="Write the recommended change to the rule files or slos.yaml (atomically).")] = False,
    html_out: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML report (with the Pareto plot) here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write every variant's scores as JSON here.")] = None,
    list_params: Annotated[bool, typer.Option("--list-params", help="Print the rules' parameters and their default grids, and exit.")] = False,
    block_cache: BlockCacheOption = None,
    prometheus: PrometheusOption = None,
) -> None:
    """Sweep an alert rule's thresholds, for, keep_firing_for (or an SLO's burn rates, windows and
    low-traffic guard) over recorded incidents and noise; print the Pareto front, the recommended
    variant and its diff."""
    import json

    from obsbox.formats import write_atomically
    from obsbox.tune import edit, report
    from obsbox.tune.run import load_target, resolve_alerts, run_tune_many
    from obsbox.tune.scores import RECOMMENDATION_RULE
    from obsbox.tune.space import TuneError

    rule_paths = list(rules or [Path("alert_rules")])
    console = Console() if sys.stdout.isatty() else Console(width=200)
    errors: tuple[type[BaseException], ...] = (*input_errors(), TuneError)
    try:
        alerts = resolve_alerts(alert or [], group, rule_paths, slos)
        if list_params:
            for name in alerts:
                for p in load_target(name, rule_paths, slos).params:
                    prefix = f"{name} " if len(alerts) > 1 else ""
                    console.print(
                        f"{prefix}{p.name}: current {p.current}; grid {', '.join(p.grid)} — {p.what}",
                        markup=False,
                        highlight=False,
                    )
            return
    except errors as exc:
        raise fail(str(exc)) from None
    check_out_dirs(json_out, html_out)
    use_engine(prometheus, block_cache)
    progress = None if sys.stderr.isatty() else LineProgress("tune")
    with run_errors(errors):
        with scratch_tmpdir():
            results, changes = run_tune_many(
                alerts,
                rule_paths,
                incidents,
                slos_path=slos,
                sweep=sweep or (),
                seed=seed,
                holdout=holdout,
                progress=progress,
            )
        if html_out is not None:
            from obsbox.replay.report_html import load_plotly_js

            write_atomically(html_out, report.render_html(results, changes, plotly_js=load_plotly_js()))
        if json_out is not None:
            write_atomically(json_out, json.dumps(report.to_json_many(results, changes), indent=2, sort_keys=True) + "\n")

    # The time goes to stderr: the same inputs give the same stdout.
    total = sum(len(r.variants) for r in results)
    print(f"tune: {total} variants x {len(results[0].corpus.recordings)} recordings in {results[-1].seconds:.1f}s", file=sys.stderr)
    for result in results:
        _print_result(console, result)
    console.print(f"recommendation rule: {RECOMMENDATION_RULE}", markup=False, highlight=False)
    if not changes:
        console.print("no change: the current rules are the recommendation", markup=False)
        return
    for change in changes:
        sys.stdout.write(change.diff())
    sys.stdout.flush()
    if apply:
        try:
            edit.apply_changes(changes)
        except OSError as exc:
            raise fail(os_error_message(exc)) from None
        console.print(f"applied to {', '.join(str(c.path) for c in changes)}", markup=False, highlight=False)


def _print_result(console: Console, result: TuneResult) -> None:
    from obsbox.tune import report

    n = len(result.variants)
    alert = result.target.alert
    console.print(
        f"{alert}: {n} variants ({', '.join(result.swept) or 'none swept'}) over {len(result.corpus.recordings)} recordings",
        markup=False,
        highlight=False,
    )
    rows = [report.row(result, result.corpus, i) for i in report.table_indices(result)]
    head = (*report.HEAD[:3], report.noise_heading(result), *report.HEAD[4:])
    console.print(_table(f"Pareto front ({len(result.front)} of {n} variants)", head, rows))
    gen = report.generalization_rows(result)
    if gen and result.split is not None:
        console.print(
            _table(
                f"Held out (split by recording, stratified by incident kind, seed {result.split.seed}; tuned on the tune part)",
                report.GENERALIZATION_HEAD,
                gen,
            )
        )
    chosen = result.variants[result.recommended]
    console.print(f"recommended: v{result.recommended:03d} ({chosen.label(result.params)})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("tune")(tune)
