"""The rule tester's engine versions the engine tests run on.

The engine tests run on both Prometheus versions this machine has: obsbox's build of the
deploy's pinned 3.x and Debian's 2.42. Both are installed by `make setup`, so a missing one is a
failure that says so, never a skip. The `engine` fixture (tests/conftest.py) runs a test once per
version; module-scoped fixtures parametrize over ENGINE_NAMES with ENGINE_IDS themselves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from obsbox.binaries import locate
from obsbox.binaries.catalog import pinned_versions
from obsbox.replay.prometheus import binary_version

REPO_ROOT = Path(__file__).resolve().parent.parent
# The peer suites (promtool test files of other projects): shared/ beside the checkout (where CI
# lays its copy), else the workplace's /work/shared.
PEER_SUITES = next(
    (p for p in (REPO_ROOT.parent / "shared" / "peer-suites", Path("/work/shared/peer-suites")) if p.is_dir()),
    Path("/work/shared/peer-suites"),
)
DEBIAN_PROMETHEUS = Path("/usr/bin/prometheus")
DEBIAN_PROMTOOL = Path("/usr/bin/promtool")
ENGINE_NAMES = ("pinned", "debian")


@dataclass(frozen=True)
class Engine:
    """One Prometheus release as the rule tester's engine: its prometheus, and the promtool of the
    same release, which is the judge of the engine's answers."""

    name: str  # "pinned" (obsbox's build of the deploy's version) or "debian" (Debian's 2.42)
    prometheus: str
    promtool: str
    version: str  # as the binary says: "3.5.0", "2.42.0"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def _engine_id(name: str) -> str:
    if name == "pinned":
        return f"prom{pinned_versions()['prometheus']}"
    version = binary_version(str(DEBIAN_PROMETHEUS)) if DEBIAN_PROMETHEUS.exists() else ""
    return f"prom{version.split('+')[0] or '-debian'}"


ENGINE_IDS = [_engine_id(name) for name in ENGINE_NAMES]


@functools.cache
def _resolve_engine(name: str) -> Engine | str:
    if name == "pinned":
        pinned = pinned_versions()["prometheus"]
        prometheus, promtool = locate.built("prometheus"), locate.built("promtool")
        if prometheus is None or promtool is None:
            return (
                f"obsbox's build of Prometheus {pinned} (prometheus and promtool) is missing under "
                f"{locate.cache_dir() / 'build' / 'prometheus' / pinned}: run `make setup`"
            )
        paths = (str(prometheus), str(promtool))
    else:
        if not (DEBIAN_PROMETHEUS.exists() and DEBIAN_PROMTOOL.exists()):
            return f"Debian's Prometheus 2.42 ({DEBIAN_PROMETHEUS}, {DEBIAN_PROMTOOL}) is missing: run `make setup`"
        paths = (str(DEBIAN_PROMETHEUS), str(DEBIAN_PROMTOOL))
    version = binary_version(paths[0])
    if not version:
        return f"{paths[0]} --version does not say its version"
    return Engine(name, paths[0], paths[1], version)


def resolve_engine(name: str) -> Engine:
    """The binaries of one engine version; fails the test (never skips) when they are missing."""
    found = _resolve_engine(name)
    if isinstance(found, str):
        pytest.fail(found, pytrace=False)
    return found
