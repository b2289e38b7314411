"""Remove the unit cgroups throwaway hosts leave behind on this machine.

The hosts share this machine's cgroup hierarchies (they get no cgroup namespace), so every host's
systemd creates its units' cgroups at the same paths (`system.slice/prometheus.service`), and what
it attaches there, such as the BPF programs behind `IPAddressAllow=`/`IPAddressDeny=`, outlives the
host and filters the next host's unit of the same name: a multi-host layout's allow list would
silently drop a later single host's Alertmanager notifications. Removing the empty directories
while no host runs takes those programs with them.
"""

from __future__ import annotations

import os
from pathlib import Path

# The trees a host's systemd creates; nothing else under a hierarchy is touched.
SYSTEMD_TREES = ("system.slice", "user.slice", "init.scope", "machine.slice")


def cgroup_roots(mounts: str | None = None) -> list[Path]:
    """Mount points of the cgroup (v1) and cgroup2 hierarchies, from /proc/self/mounts."""
    if mounts is None:
        mounts = Path("/proc/self/mounts").read_text()
    roots = []
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] in ("cgroup", "cgroup2"):
            roots.append(Path(fields[1]))
    return roots


def clear_unit_cgroups(roots: list[Path] | None = None) -> int:
    """rmdir every empty directory of the systemd trees, deepest first; the number removed.

    A cgroup that still holds a process (or a child that does) refuses rmdir and is kept, so a
    host that is still running loses nothing it uses.
    """
    removed = 0
    for root in cgroup_roots() if roots is None else roots:
        for tree in SYSTEMD_TREES:
            top = root / tree
            if not top.is_dir():
                continue
            for current, _dirs, _files in os.walk(top, topdown=False):
                try:
                    os.rmdir(current)
                except OSError:
                    continue
                removed += 1
    return removed
