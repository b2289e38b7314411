"""Every dashboard as dashboards/build/<uid>.json: what to write, and what differs (pure but the
writes). ``obsbox dashboards build`` writes; ``--check`` (and a unit test) only compare.

The build output is checked in so the deploy needs no SDK; the check fails when a module changed
without a rebuild.
"""

from __future__ import annotations

from pathlib import Path

from dashboards import build_all
from dashboards._lib import to_json


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{uid}.json": to_json(model) for uid, model in sorted(build_all().items())}


def differences(build_dir: Path) -> list[str]:
    """File names in build_dir that are missing, stale or left over from a removed dashboard."""
    wanted = rendered()
    present = {p.name for p in build_dir.glob("*.json")} if build_dir.is_dir() else set()
    changed = [
        name for name, text in wanted.items() if not (build_dir / name).is_file() or (build_dir / name).read_text() != text
    ]
    return sorted(changed + sorted(present - set(wanted)))


def write(build_dir: Path) -> list[Path]:
    """Write every dashboard into build_dir and delete JSON files of dashboards that no longer exist."""
    build_dir.mkdir(parents=True, exist_ok=True)
    wanted = rendered()
    for stale in build_dir.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, text in wanted.items():
        path = build_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

