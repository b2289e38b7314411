"""Fixtures for the engine against a real Prometheus: rule files, and a watch on leftovers.

Every test here runs once per engine version (the pinned 3.x build and Debian's 2.42).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from obsbox.replay import prometheus


@pytest.fixture(autouse=True)
def _each_engine(engine: object) -> None:
    """Run each test of this directory on every engine version (conftest.engine)."""


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[[str], Path]:
    """Write a rule file (YAML text) and return its path."""

    def write(text: str, name: str = "rules.yml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@dataclass
class Leftovers:
    """Temporary directories and Prometheus processes the engine started during one test."""

    tmpdir: Path
    pids: list[int] = field(default_factory=list)

    def directories(self) -> list[Path]:
        return sorted(self.tmpdir.iterdir())

    def running(self) -> list[int]:
        alive = []
        for pid in self.pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            alive.append(pid)
        return alive


@pytest.fixture
def leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Leftovers]:
    """Point the engine's temporary files at an empty directory and record every Prometheus pid."""
    tmpdir = tmp_path / "engine-tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    watch = Leftovers(tmpdir)
    original = prometheus.PrometheusServer._wait_ready

    def recording_wait(self: prometheus.PrometheusServer) -> bool:
        if self.process is not None:
            watch.pids.append(self.process.pid)
        return original(self)

    monkeypatch.setattr(prometheus.PrometheusServer, "_wait_ready", recording_wait)
    yield watch
    for pid in watch.running():  # never leave a process behind, even when a test failed
        os.kill(pid, 9)
