"""Removing a host's directory tree without ever following a mount into this machine's /dev or /sys."""

from __future__ import annotations

import subprocess
from pathlib import Path


class StillMountedError(RuntimeError):
    """Something is still mounted below a directory that was about to be removed."""


def mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


def remove_tree(path: Path) -> None:
    """rm -rf that refuses while anything below `path` is mounted and never crosses a mount."""
    mounts = mounts_under(path)
    if mounts:
        raise StillMountedError(f"refusing to remove {path}: still mounted: {', '.join(mounts)}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)
