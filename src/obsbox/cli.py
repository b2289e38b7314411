"""The `obsbox` command. Each area registers its own subcommands from obsbox.commands.*."""

from __future__ import annotations

from typing import Annotated

import typer

from obsbox.commands import binaries as binaries_commands
from obsbox.commands import contract_doc as contract_doc_commands
from obsbox.commands import corpus as corpus_commands
from obsbox.commands import dashboards as dashboards_commands
from obsbox.commands import demo as demo_commands
from obsbox.commands import deploy as deploy_commands
from obsbox.commands import promtool as promtool_commands
from obsbox.commands import record as record_commands
from obsbox.commands import replay as replay_commands
from obsbox.commands import rules_compare as rules_compare_commands
from obsbox.commands import tune as tune_commands

# Plain click help: typer's rich help prints type names as metavars (`--help <bool>`,
# `--rules <list[Path]>`), which are no part of the command line a user types.
MARKUP_MODE = None


def _no_argument_types() -> None:
    """Typer 0.2x appends a type name to every argument in help (`FILE <path>`), with no option
    to turn it off; the metavar each argument declares is what a user types."""
    argument = getattr(typer.core, "TyperArgument", None)
    if argument is not None and hasattr(argument, "display_type_rich"):
        argument.display_type_rich = lambda self, ctx: None


_no_argument_types()

app = typer.Typer(
    name="obsbox",
    help=(
        "Observability in a box: replay recorded incidents to tune alert rules, record new ones, "
        "render and check every file the stack deploy writes (the deploy itself runs with "
        "pyinfra: deploy/deploy.py), rewrite the generated files (corpus, dashboards, contract "
        "tables) and run the demo."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=MARKUP_MODE,
)


def version_string() -> str:
    """``obsbox X.Y.Z``: the installed distribution's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"obsbox {version('obsbox')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "obsbox (version unknown: not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_string())
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print obsbox's version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """obsbox's top level: only --version lives here."""


for module in (replay_commands, tune_commands, promtool_commands, record_commands, deploy_commands, binaries_commands):
    module.register(app)
# Folded in from the former `python -m` entry points; one failure style (commands._exit).
for module in (rules_compare_commands, corpus_commands, contract_doc_commands, dashboards_commands, demo_commands):
    module.register(app)


if __name__ == "__main__":
    app()
