"""One host's data from a pyinfra inventory file and its group_data, merged as pyinfra merges it.

pyinfra's own loader lives in ``pyinfra_cli``, whose import monkey-patches the whole process with
gevent; ``obsbox render`` reads the same files the same way without it:

- groups are the inventory module's public lists (or ``(hosts, data)`` tuples); each host is a
  name or ``(name, data)``; every host is also in ``all`` and in the group named after the file;
- group data comes from ``<dir>/<group>.py`` files (their public, non-imported names);
- a host's own data wins over its groups' data, which wins over ``all``.
"""

from __future__ import annotations

import ast
import runpy
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class InventoryFileError(ValueError):
    """An inventory file that cannot be read, or a host that is not in it."""


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names if a.name != "*")
    return names


def _public(path: Path) -> dict[str, Any]:
    try:
        attrs = runpy.run_path(str(path))
    except Exception as error:  # the file is Python: report its error in one line
        raise InventoryFileError(f"{path}: cannot load: {type(error).__name__}: {error}") from error
    keys = attrs["__all__"] if "__all__" in attrs else [k for k in attrs if k not in _imported_names(path)]
    return {k: v for k, v in attrs.items() if k in keys and not k.startswith("_")}


def group_data(directories: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """{group: data} from every ``*.py`` in the directories; later directories override earlier ones."""
    out: dict[str, dict[str, Any]] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.py")):
            out.setdefault(path.stem, {}).update(_public(path))
    return out


def _host_entries(value: Any) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]] | None:
    """A group's hosts (name, own data) and the group's inline data; None if not a group."""
    data: dict[str, Any] = {}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict) and isinstance(value[0], list | tuple):
        value, data = value
    if not isinstance(value, list | tuple):
        return None
    hosts: list[tuple[str, dict[str, Any]]] = []
    for entry in value:
        if isinstance(entry, str):
            hosts.append((entry, {}))
        elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], dict):
            hosts.append((entry[0], dict(entry[1])))
        else:
            return None
    return hosts, data


def load_host(inventory: Path, host: str | None, group_data_dirs: Sequence[Path]) -> tuple[str, dict[str, Any]]:
    """The chosen host (the only one when ``host`` is None) and its merged data."""
    if not inventory.is_file():
        raise InventoryFileError(f"{inventory}: no such inventory file")
    groups: dict[str, tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]] = {}
    for name, value in _public(inventory).items():
        parsed = _host_entries(value)
        if parsed is not None:
            groups[name] = parsed
    order: list[str] = []
    own: dict[str, dict[str, Any]] = {}
    member_of: dict[str, list[str]] = {}
    for name, (hosts, _) in groups.items():
        for host_name, data in hosts:
            if host_name not in own:
                order.append(host_name)
                own[host_name] = {}
                member_of[host_name] = []
            own[host_name].update(data)
            member_of[host_name].append(name)
    if not order:
        raise InventoryFileError(f"{inventory}: the inventory has no hosts")
    if host is None:
        if len(order) > 1:
            raise InventoryFileError(f"{inventory}: {len(order)} hosts ({', '.join(order)}); choose one with --host")
        host = order[0]
    if host not in own:
        raise InventoryFileError(f"{inventory}: no host {host!r} (hosts: {', '.join(order)})")
    from_dirs = group_data(group_data_dirs)
    file_group = inventory.stem
    merged: dict[str, Any] = {}
    merged.update(from_dirs.get("all", {}))
    merged.update(groups.get("all", ([], {}))[1])
    for name in [file_group, *member_of[host]]:
        if name == "all":
            continue
        merged.update(from_dirs.get(name, {}))
        if name in groups:
            merged.update(groups[name][1])
    merged.update(own[host])
    return host, merged
