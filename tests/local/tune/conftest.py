"""A private copy of the shipped rules, SLOs and corpus, and a block cache shared by the module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """alert_rules/ copied (rules, slos.yaml, incidents), so --apply may write into it."""
    target = tmp_path / "alert_rules"
    shutil.copytree(ROOT / "alert_rules", target, ignore=shutil.ignore_patterns("tests", "runbooks", "naive"))
    return target


@pytest.fixture(scope="session")
def block_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("block-cache")


def run_obsbox(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200", OBSBOX_BLOCK_CACHE=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "obsbox.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
