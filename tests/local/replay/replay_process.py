"""Running `obsbox` as a real process, for the end-to-end replay tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def obsbox_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "obsbox.cli", *map(str, args)]


def run_obsbox(*args: str | Path, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(obsbox_command(*args), capture_output=True, text=True, env=env, timeout=600, check=False)
