"""Find the executables obsbox runs here: its own builds at the pinned versions first.

`obsbox binaries build` (run by `make setup`) leaves each release under the cache directory;
the rule tester's engine, the validators and the tests use those, so what they check is what
the deploy installs. A tool obsbox has not built is looked up on PATH, as before.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from obsbox.binaries.catalog import COLLECTOR_DISTRIBUTION, VICTORIAMETRICS_BINARY, BinarySpec, catalog

CACHE_ENV = "OBSBOX_CACHE_DIR"
# Executable names as users know them -> (component, name inside obsbox's release).
_TOOLS = {
    "prometheus": ("prometheus", "prometheus"),
    "promtool": ("prometheus", "promtool"),
    "alertmanager": ("alertmanager", "alertmanager"),
    "amtool": ("alertmanager", "amtool"),
    "node_exporter": ("node_exporter", "node_exporter"),
    "otelcol": ("otelcol", COLLECTOR_DISTRIBUTION),
    COLLECTOR_DISTRIBUTION: ("otelcol", COLLECTOR_DISTRIBUTION),
    "victoriametrics": ("victoriametrics", VICTORIAMETRICS_BINARY),
    VICTORIAMETRICS_BINARY: ("victoriametrics", VICTORIAMETRICS_BINARY),
}
# Where PATH may hold the same tool under another name (Debian's packages, upstream releases).
_PATH_NAMES = {
    "alertmanager": ("alertmanager", "prometheus-alertmanager"),
    "node_exporter": ("node_exporter", "prometheus-node-exporter"),
    "otelcol": ("otelcol-contrib", "otelcol"),
    "victoriametrics": ("victoria-metrics-prod", "victoria-metrics"),
}


def cache_dir() -> Path:
    """OBSBOX_CACHE_DIR, else $XDG_CACHE_HOME/obsbox, else ~/.cache/obsbox (outside any checkout)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "obsbox"


def releases_dir() -> Path:
    """Release archives in the mirror layout {component}/{version}/{archive}."""
    return cache_dir() / "releases"


def build_dir(spec: BinarySpec) -> Path:
    """The unpacked release: the executables exactly as packed into the archive."""
    return cache_dir() / "build" / spec.component / spec.version


def built(name: str) -> Path | None:
    """obsbox's own build of a tool at the pinned version, if `obsbox binaries build` made it."""
    if name not in _TOOLS:
        return None
    component, executable = _TOOLS[name]
    for spec in catalog():
        if spec.component == component:
            path = build_dir(spec) / executable
            return path if path.is_file() and os.access(path, os.X_OK) else None
    return None


def tool(name: str) -> str | None:
    """The executable to run for `name`: obsbox's pinned build, else PATH (None when neither)."""
    own = built(name)
    if own is not None:
        return str(own)
    for candidate in _PATH_NAMES.get(name, (name,)):
        found = shutil.which(candidate)
        if found:
            return found
    return None
