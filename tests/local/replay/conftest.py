"""The small end-to-end corpus (tests/fixtures/replay) and a way to run `obsbox` as a process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"


@pytest.fixture
def replay_rules() -> Path:
    return FIXTURES / "rules"


@pytest.fixture
def replay_corpus(tmp_path: Path) -> Path:
    """A private copy of the corpus, so a test may edit manifests."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    return target


@pytest.fixture
def replay_tmpdir(tmp_path: Path) -> Path:
    """A TMPDIR for the obsbox process, so leftovers of the replay can be seen."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path
