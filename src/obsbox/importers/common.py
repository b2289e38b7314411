"""Writing a recording (manifest + OpenMetrics data) the way the replay reads it back."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from obsbox.replay.model import Series
from obsbox.replay.openmetrics import normalise, write_series
from obsbox.replay.report_json import write_atomically


def recording_name(text: str) -> str:
    """A manifest name (and file stem) from free text: lower case letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return name or "recording"


def write_recording(out_dir: Path, manifest: Mapping[str, Any], series: Sequence[Series]) -> Path:
    """Write <name>.om and <name>.yaml into out_dir; returns the manifest path.

    The data goes first, so a manifest never points at a missing or partial data file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    name = str(manifest["name"])
    data_name = str(manifest.get("data", f"{name}.om"))
    buffer = io.StringIO()
    write_series(normalise(series), buffer)
    write_atomically(out_dir / data_name, buffer.getvalue())
    manifest_path = out_dir / f"{name}.yaml"
    text = yaml.safe_dump(dict(manifest), sort_keys=False, allow_unicode=True, width=100)
    write_atomically(manifest_path, text)
    return manifest_path
