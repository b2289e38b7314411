"""Which instrumentation runs in this process: obsbox's own hooks (patches.py) first, then every
installed upstream instrumentor obsbox does not replace, each only when its library is installed."""

from __future__ import annotations

import logging
import os
from typing import Any

from .patches import apply_patches, replaced_instrumentations
from .settings import Settings

_log = logging.getLogger("obsbox_instrumentation")


def _disabled(settings: Settings) -> frozenset[str]:
    return settings.disabled_instrumentations | {
        x.strip() for x in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",") if x.strip()
    }


def apply_own_hooks(settings: Settings, disabled: frozenset[str] | None = None) -> list[str]:
    """obsbox's own instrumentation (patches.py: Flask, Django, Starlette/FastAPI servers;
    requests and httpx clients, ...); names applied."""
    return apply_patches(settings.disabled_instrumentations if disabled is None else disabled)


def auto_instrument(settings: Settings) -> list[str]:
    """Apply obsbox's own hooks, then every installed upstream instrumentor obsbox does not replace."""
    from opentelemetry.util._importlib_metadata import entry_points

    disabled = _disabled(settings)
    done = apply_own_hooks(settings, disabled)
    replaced = replaced_instrumentations()
    for ep in entry_points(group="opentelemetry_instrumentor"):
        if ep.name in replaced or ep.name in disabled or "*" in disabled:
            continue
        try:
            instrumentor = ep.load()()
            if getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
                done.append(ep.name)  # already done (an earlier configure in this process)
                continue
            if not instruments_installed_library(instrumentor, ep.name):
                continue
            # A failing instrumentation is skipped, never fatal.
            instrumentor.instrument(skip_dep_check=True)
            if getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
                done.append(ep.name)
        except Exception as exc:
            _log.debug("obsbox: instrumentation %s skipped: %s", ep.name, exc)
    return done


def instruments_installed_library(instrumentor: Any, name: str) -> bool:
    """Whether the library this instrumentor instruments is installed at a version it supports.

    Checked per instrumentor, not per distribution: one distribution may ship instrumentors
    for several libraries (opentelemetry-instrumentation-httpx has ``httpx`` and ``httpx2``),
    and instrument() logs an ERROR at every start for each library that is absent. An absent
    library is normal (debug); a library installed at an unsupported version is worth a warning.
    """
    try:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
    except Exception:
        return True  # cannot tell: let instrument() decide, as upstream does
    if conflict is None:
        return True
    if getattr(conflict, "found", None) or getattr(conflict, "found_any", None):
        _log.warning("obsbox: not instrumenting %s: %s", name, conflict)
    else:
        _log.debug("obsbox: not instrumenting %s: %s", name, conflict)
    return False
