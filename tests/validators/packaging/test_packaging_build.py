"""Both distributions build with pip, as `make setup` builds them, without a setuptools warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("project", [".", "instrumentation"])
def test_build_prints_no_setuptools_warning(project: str, tmp_path: Path) -> None:
    """`pip wheel` of the project (isolated build, the current setuptools) succeeds with no warning."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(tmp_path), str(ROOT / project)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Warning" not in output and "deprecated" not in output.lower(), output
    assert list(tmp_path.glob("*.whl"))
