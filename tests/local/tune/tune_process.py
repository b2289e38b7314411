"""Running `obsbox` as a real process for the tune tests, with a block cache of the test run's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_obsbox(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200", OBSBOX_BLOCK_CACHE=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "obsbox.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
