"""Which Prometheus answers the rule tester's queries, and whether it is the one the deploy pins.

A replay verdict is that of one Prometheus version (2.x and 3.x differ in range-selector edges,
the lookback window and `le`/`quantile` label values), so every report names the engine and warns
when its major.minor differs from the version the deploy installs.
"""

from __future__ import annotations

from dataclasses import dataclass

from obsbox.binaries.catalog import pinned_versions
from obsbox.replay.prometheus import binary_version, find_binary


@dataclass(frozen=True)
class EngineInfo:
    binary: str
    version: str  # "" when the binary does not say
    pinned: str  # the deploy's Prometheus version

    @property
    def warning(self) -> str:
        """A sentence when the engine is not the deploy's Prometheus major.minor, else ""."""
        if _major_minor(self.version) == _major_minor(self.pinned):
            return ""
        return (
            f"the engine is Prometheus {self.version or '(unknown version)'} but the deploy installs "
            f"{self.pinned}: verdicts can differ between versions (select the pinned build with "
            "`obsbox binaries build`, or another engine with --prometheus)"
        )

    @property
    def banner(self) -> str:
        return f"engine: Prometheus {self.version or '(unknown version)'} ({self.binary})"

    def as_dict(self) -> dict[str, str]:
        return {"name": "prometheus", "version": self.version, "binary": self.binary, "pinned": self.pinned,
                "warning": self.warning}


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split("+")[0].split(".")[:2])


def engine_info() -> EngineInfo | None:
    """The Prometheus the rule tester will run, or None when there is none."""
    binary = find_binary("prometheus")
    if binary is None:
        return None
    return EngineInfo(binary, binary_version(binary), pinned_versions()["prometheus"])
