"""Commands that work on the repository itself (the dashboards, the demo, the examples)."""

from __future__ import annotations

import sys
from pathlib import Path

from obsbox.commands._exit import fail

# src/obsbox/commands/_source.py -> the checkout's root, when obsbox runs from one (make setup
# installs it editable); an installed wheel has no dashboards/ or examples/ beside it.
REPO_ROOT = Path(__file__).resolve().parents[3]


def source_checkout(command: str, *needs: str) -> Path:
    """The repository root, importable (the top-level `dashboards` and `examples` packages live
    there, not in the wheel); a one-line error naming what is missing when obsbox was installed
    without its source tree."""
    missing = [name for name in needs if not (REPO_ROOT / name).exists()]
    if missing:
        raise fail(f"obsbox {command} needs the obsbox source checkout ({', '.join(missing)} not found under {REPO_ROOT})")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return REPO_ROOT
