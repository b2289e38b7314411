"""The host image: a debootstrap bookworm minbase rootfs, built once and cached as a tarball.

Building takes a minute or more and needs Debian's mirror; unpacking the cached tarball takes a
few seconds and needs nothing, so every boot after the first works offline.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from obsbox.hosts.fs import remove_tree

SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("OBSBOX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = Path(os.environ.get("OBSBOX_HOST_CACHE", "/var/cache/obsbox/hosts"))

# What a plain Debian server of our users has, plus what the demo service needs on the host:
# python3-venv to build its virtualenv from the wheelhouse in the local mirror, curl because
# pyinfra's files.download fetches release archives with it, redis-server as the demo's job broker
# (Debian's unit binds it to loopback).
HOST_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-venv",
    "curl",
    "redis-server",
    "ca-certificates",
)


def image_key(packages: tuple[str, ...] = HOST_PACKAGES) -> str:
    """A short hash of everything that goes into the image, so a changed list builds a new one."""
    spec = "\n".join([SUITE, "minbase", DEBIAN_MIRROR, *sorted(packages)])
    return hashlib.sha256(spec.encode()).hexdigest()[:12]


def tarball_path(packages: tuple[str, ...] = HOST_PACKAGES) -> Path:
    return CACHE_DIR / f"{SUITE}-{image_key(packages)}.tar"


def ensure_rootfs_tarball(packages: tuple[str, ...] = HOST_PACKAGES) -> Path:
    """Return the cached rootfs tarball, running debootstrap first if it is not there yet."""
    target = tarball_path(packages)
    if target.exists():
        return target
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (make setup installs it)")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE_DIR))
    try:
        rootfs = work / "root"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _trim(rootfs)
        partial = target.with_suffix(f".tar.partial-{os.getpid()}")
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], check=True)
        # Rename last so a build killed halfway never leaves a tarball that looks complete.
        partial.rename(target)
    finally:
        # debootstrap mounts proc inside the target while it works; never rm through a mount
        remove_tree(work)
    return target


def _trim(rootfs: Path) -> None:
    """Drop the apt package cache: the hosts have no route out and never run apt-get."""
    for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def unpack(tarball: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(dest), "--numeric-owner", "-xf", str(tarball)], check=True)
