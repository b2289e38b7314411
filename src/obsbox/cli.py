"""The `obsbox` command. Each area registers its own subcommands from obsbox.commands.*."""

from __future__ import annotations

import typer

from obsbox.commands import binaries as binaries_commands
from obsbox.commands import deploy as deploy_commands
from obsbox.commands import promtool as promtool_commands
from obsbox.commands import record as record_commands
from obsbox.commands import replay as replay_commands

app = typer.Typer(
    name="obsbox",
    help="Observability in a box: deploy the stack, instrument services, replay incidents to tune alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (replay_commands, promtool_commands, record_commands, deploy_commands, binaries_commands):
    module.register(app)


if __name__ == "__main__":
    app()
