"""Unit cgroups left by earlier throwaway hosts are removed; busy ones and other trees are kept."""

from __future__ import annotations

from pathlib import Path

from obsbox.hosts.cgroups import cgroup_roots, clear_unit_cgroups

MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs ro,relatime 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
proc /proc proc rw 0 0
"""


def test_cgroup_roots_are_the_v1_and_v2_hierarchies() -> None:
    assert cgroup_roots(MOUNTS) == [Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified")]


def test_empty_unit_cgroups_go_and_busy_ones_stay(tmp_path: Path) -> None:
    """An empty unit directory (a stopped host's prometheus.service, with whatever filter was
    attached to it) is removed; one that still holds something, and anything outside systemd's
    trees, is kept."""
    root = tmp_path / "unified"
    (root / "system.slice" / "prometheus.service").mkdir(parents=True)
    (root / "system.slice" / "alertmanager.service" / "sub").mkdir(parents=True)
    busy = root / "system.slice" / "obsbox-demo.service"
    busy.mkdir()
    (busy / "cgroup.procs").write_text("4242\n")  # a plain file stands for a process: rmdir refuses
    (root / "other").mkdir()
    removed = clear_unit_cgroups([root])
    assert removed == 3
    assert not (root / "system.slice" / "prometheus.service").exists()
    assert not (root / "system.slice" / "alertmanager.service").exists()
    assert busy.exists() and (root / "other").exists()
