"""obsbox's Grafana dashboards as code: one module per dashboard, built to JSON.

Each public module here (a name without a leading underscore) defines ``UID`` (its file stem)
and ``build() -> dict``, the dashboard's JSON model. ``obsbox dashboards build`` writes every model
to ``dashboards/build/<uid>.json``, which the deploy provisions into Grafana as files.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

BUILD_DIR = Path(__file__).resolve().parent / "build"


def module_names() -> list[str]:
    """Names of the dashboard modules, sorted; helpers start with an underscore."""
    here = str(Path(__file__).resolve().parent)
    return sorted(m.name for m in pkgutil.iter_modules([here]) if not m.name.startswith("_"))


def build_all() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model by uid."""
    models: dict[str, dict[str, Any]] = {}
    for name in module_names():
        module = importlib.import_module(f"{__name__}.{name}")
        models[module.UID] = module.build()
    return models
