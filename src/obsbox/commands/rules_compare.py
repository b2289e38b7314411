"""`obsbox rules compare`: the shipped rules against the naive ones, on the same corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from obsbox.commands._exit import EXIT_FAILED, fail
from obsbox.commands.record import rules_app


def compare_command(
    rules_dir: Annotated[
        Path, typer.Option("--rules-dir", metavar="DIR", help="Directory of the shipped *.rules.yaml files.")
    ] = Path("alert_rules"),
    naive: Annotated[
        Path, typer.Option("--naive", metavar="FILE", help="The rule file to compare them with.")
    ] = Path("alert_rules/naive/naive.rules.yaml"),
    incidents: Annotated[
        Path, typer.Option("--incidents", metavar="DIR", help="The corpus both are replayed on.")
    ] = Path("alert_rules/incidents"),
    json_dir: Annotated[
        Path | None, typer.Option("--json-dir", metavar="DIR", help="Keep both JSON reports here.")
    ] = None,
) -> None:
    """Replay the shipped and the naive rules on the corpus, each expectation rewritten to the
    severity of the alert it names, and print the scores side by side as a markdown table."""
    from obsbox.rules.catalog import rule_files
    from obsbox.rules.compare import compare, failures_text, table

    for path, what in ((rules_dir, "--rules-dir"), (incidents, "--incidents")):
        if not path.is_dir():
            raise fail(f"{what} {path}: no such directory")
    if not naive.is_file():
        raise fail(f"--naive {naive}: no such file")
    if not rule_files(rules_dir):
        raise fail(f"--rules-dir {rules_dir}: no *.rules.yaml files")
    try:
        reports = compare(rules_dir, naive, incidents, json_dir)
    except (ValueError, OSError) as exc:  # a manifest naming an alert no shipped rule defines; unreadable input
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # a replay that wrote no report
        raise fail(str(exc), code=EXIT_FAILED) from None
    typer.echo(table(reports) + failures_text(reports), nl=False)


def register(app: typer.Typer) -> None:
    """Add `compare` to the `obsbox rules` group (which commands.record adds to the app)."""
    rules_app.command("compare")(compare_command)
