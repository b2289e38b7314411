"""Tier 4 fixtures: throwaway systemd hosts (DESIGN.md section 7), booted once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from obsbox.hosts import Host, throwaway_host

_NEEDS = ("debootstrap", "unshare", "nsenter", "ip", "ssh", "ssh-keygen")


def _why_hosts_cannot_exist() -> str | None:
    if os.geteuid() != 0:
        return "throwaway systemd hosts need root (namespaces, veth pairs, debootstrap)"
    missing = [tool for tool in _NEEDS if shutil.which(tool) is None]
    if missing:
        return f"throwaway systemd hosts need {', '.join(missing)} (make setup installs them)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_hosts_cannot_exist()
    if reason is None:
        return
    for item in items:
        if "tests/hosts/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def booted_host() -> Iterator[Host]:
    """One plain host for the harness tests; removed (PID 1, veth, rootfs) even on failure."""
    with throwaway_host("obsbox-t4-boot") as host:
        yield host
