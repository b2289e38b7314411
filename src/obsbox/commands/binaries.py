"""`obsbox binaries`: build Prometheus, Alertmanager, node_exporter, the collector and
VictoriaMetrics from their Go modules at the pinned versions, and show where they are."""

from __future__ import annotations

from typing import Annotated

import typer

from obsbox.binaries.build import BuildError, build_all, current_key, is_current
from obsbox.binaries.catalog import catalog
from obsbox.binaries.locate import build_dir, cache_dir
from obsbox.commands._exit import EXIT_FAILED, fail

binaries_app = typer.Typer(
    help="Build the pinned Prometheus, Alertmanager, node_exporter, collector and VictoriaMetrics releases "
    "from their Go modules (cached under OBSBOX_CACHE_DIR, default ~/.cache/obsbox).",
    no_args_is_help=True,
)


@binaries_app.command("build")
def build_command(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", metavar="COMPONENT", help="Build just this component (repeatable): prometheus, alertmanager, node_exporter, otelcol, victoriametrics."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Build again even when the cached build is current.")] = False,
) -> None:
    """Build each release once (reused while its inputs are unchanged); one progress line per binary."""
    specs = [s for s in catalog() if not only or s.component in only]
    unknown = set(only or ()) - {s.component for s in catalog()}
    if unknown:
        raise fail(f"--only: unknown component(s) {', '.join(sorted(unknown))}")
    try:
        build_all(specs, lambda line: typer.echo(line), force=force)
    except BuildError as error:
        raise fail(str(error), EXIT_FAILED) from error


@binaries_app.command("list")
def list_command() -> None:
    """Show each pinned release, where it is built from, and whether its build is in the cache."""
    from obsbox.binaries.build import go_version

    try:
        go = go_version()
    except BuildError:
        go = ""
    typer.echo(f"cache: {cache_dir()}")
    for spec in catalog():
        state = "built" if go and is_current(spec, current_key(spec, go)) else "not built"
        typer.echo(f"{spec.component:14} {spec.version:10} {spec.source:60} {state}: {build_dir(spec)}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.add_typer(binaries_app, name="binaries")
