"""`obsbox render`: write every file the stack deploy would put on a host, and check them here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from obsbox.deploy.localcheck import check_tree
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import InventoryDataError, settings_from_host_data


def _load_data(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text()
    except OSError as error:
        raise typer.BadParameter(f"{path}: {error.strerror}") from error
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise typer.BadParameter(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: expected a mapping of inventory data keys, got {type(data).__name__}")
    return data


def render_command(
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Directory to write the host's files under (mirrors host paths).")
    ],
    inventory_data: Annotated[
        Path | None,
        typer.Option("--inventory-data", metavar="FILE", help="YAML/JSON mapping of inventory data keys (<component>_<setting>)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Run promtool, amtool and systemd-analyze here.")
    ] = True,
) -> None:
    """Render every config, unit, rule and dashboard the deploy would write, then validate them."""
    try:
        settings = settings_from_host_data(_load_data(inventory_data))
    except InventoryDataError as error:
        where = f"{inventory_data}: " if inventory_data else ""
        typer.echo(f"obsbox render: {where}{error}", err=True)
        raise typer.Exit(2) from error
    files = render_host_files(settings)
    for host_path, content in sorted(files.items()):
        target = out / host_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    typer.echo(f"wrote {len(files)} files under {out}")
    if not check:
        return
    failed = 0
    for result in check_tree(out, settings):
        if result.skipped:
            typer.echo(f"SKIP {result.name} {result.target}: {result.skipped}")
        elif result.ok:
            typer.echo(f"OK   {result.name} {result.target}")
        else:
            failed += 1
            typer.echo(f"FAIL {result.name} {result.target}\n{result.output}", err=True)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("render")(render_command)
