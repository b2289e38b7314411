"""A private copy of the shipped rules, SLOs and corpus, and a block cache shared by the module."""

from __future__ import annotations

import shutil
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
