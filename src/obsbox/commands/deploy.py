"""`obsbox render`: write every file the stack deploy would put on a host, and check them here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from obsbox.deploy.inventory_file import InventoryFileError, load_host
from obsbox.deploy.localcheck import check_tree
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import InventoryDataError, settings_from_host_data


def _load_data(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text()
    except OSError as error:
        raise InventoryFileError(f"{path}: {error.strerror or error}") from error
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise InventoryFileError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from error
    except yaml.MarkedYAMLError as error:
        from obsbox.formats import yaml_error

        raise InventoryFileError(yaml_error(path, error, text)) from error
    except yaml.YAMLError as error:
        raise InventoryFileError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InventoryFileError(f"{path}: expected a mapping of inventory data keys, got {type(data).__name__}")
    return data


def group_data_dirs(inventory: Path, extra: list[Path]) -> list[Path]:
    """Where pyinfra finds group data for this inventory, in the order it applies them: the
    current directory's and the inventory directory's ``group_data`` (pyinfra's own rule), the
    one beside the inventory directory (``deploy/group_data`` for ``deploy/inventories/*.py``,
    which pyinfra finds when run from ``deploy/``), and any given with --group-data."""
    candidates = [
        Path.cwd() / "group_data",
        inventory.resolve().parent.parent / "group_data",
        inventory.resolve().parent / "group_data",
        *extra,
    ]
    out: list[Path] = []
    for path in candidates:
        if path.is_dir() and path.resolve() not in [p.resolve() for p in out]:
            out.append(path)
    return out


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
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            metavar="FILE",
            help="A pyinfra inventory file (deploy/inventories/*.py), read with its group_data as pyinfra reads it.",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="NAME", help="The inventory host to render (needed when it has several)."),
    ] = None,
    group_data: Annotated[
        list[Path] | None,
        typer.Option("--group-data", metavar="DIR", help="More group_data directories for --inventory; repeat for more."),
    ] = None,
) -> None:
    """Render every config, unit, rule and dashboard the deploy would write, then validate them."""
    raw: dict[str, Any] = {}
    where = ""
    if inventory is not None:
        dirs = group_data_dirs(inventory, list(group_data or []))
        try:
            host, raw = load_host(inventory, host, dirs)
        except InventoryFileError as error:
            typer.echo(f"obsbox render: {error}", err=True)
            raise typer.Exit(2) from error
        where = f"{inventory} (host {host}): "
        used = ", ".join(str(d) for d in dirs) or "none found"
        typer.echo(f"host {host} of {inventory}; group data: {used}")
    elif host is not None or group_data:
        typer.echo("obsbox render: --host and --group-data need --inventory", err=True)
        raise typer.Exit(2)
    try:
        raw.update(_load_data(inventory_data))
    except InventoryFileError as error:
        typer.echo(f"obsbox render: {error}", err=True)
        raise typer.Exit(2) from error
    try:
        settings = settings_from_host_data(raw)
    except InventoryDataError as error:
        if inventory_data:
            where += f"{inventory_data}: "
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
