"""What every importer shares: the recording name made from free text."""

from __future__ import annotations

import re


def recording_name(text: str) -> str:
    """A manifest name (and file stem) from free text: lower case letters, digits and dashes."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return name or "recording"
