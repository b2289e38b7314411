"""Throwaway systemd hosts: a cached debootstrap rootfs booted in its own namespaces (docs/architecture.md, Test tiers).

Shared by the tier-4 tests, `make demo` and the deploy benchmark. Everything here needs root.
"""

from obsbox.hosts.host import Host, boot_host, throwaway_host
from obsbox.hosts.image import HOST_PACKAGES, ensure_rootfs_tarball

__all__ = ["HOST_PACKAGES", "Host", "boot_host", "ensure_rootfs_tarball", "throwaway_host"]
