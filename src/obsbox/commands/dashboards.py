"""`obsbox dashboards build`: the Grafana dashboards as code (dashboards/*.py) to their JSON files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from obsbox.commands._exit import EXIT_FAILED, fail
from obsbox.commands._source import source_checkout

dashboards_app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True, rich_markup_mode=None)


@dashboards_app.command("build")
def build(
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Directory for <uid>.json (default: dashboards/build of the checkout).", show_default=False),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 naming each file that differs from a fresh build.")
    ] = False,
) -> None:
    """Build every dashboard module to <uid>.json (sorted keys, stable ids); remove the files of
    dashboards that no longer exist."""
    source_checkout("dashboards build", "dashboards")
    from dashboards import BUILD_DIR
    from dashboards._files import differences, write

    out = out or BUILD_DIR
    if check:
        stale = differences(out)
        if stale:
            raise fail(
                f"{out} is not what the dashboard modules build: {', '.join(stale)}; run `obsbox dashboards build`",
                code=EXIT_FAILED,
            )
        typer.echo(f"{out} is up to date")
        return
    try:
        for path in write(out):
            typer.echo(str(path))
    except OSError as exc:
        raise fail(f"{exc.filename or out}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.add_typer(dashboards_app, name="dashboards")
