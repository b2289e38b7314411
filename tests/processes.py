"""What runs on this machine, read from /proc: tests that interrupt a command check that it left
no process behind."""

from __future__ import annotations

import os
from pathlib import Path


def processes_mentioning(text: str, binary: str = "") -> list[int]:
    """Processes (other than this one) whose command line mentions text, run from ``binary`` if given."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if text in cmdline and int(entry.name) != os.getpid() and cmdline.split(" ")[0].endswith(binary):
            pids.append(int(entry.name))
    return pids
