"""`obsbox binaries sources`: the collector distribution's Go sources against the real builder."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from obsbox.binaries.catalog import COLLECTOR_DISTRIBUTION_DIR
from obsbox.binaries.sources import GENERATED
from obsbox.cli import app


def test_checked_in_collector_sources_are_what_the_builder_writes() -> None:
    """The builder at the manifest's version regenerates every checked-in Go source byte for byte."""
    result = CliRunner().invoke(app, ["binaries", "sources", "--check"])
    assert result.exit_code == 0, result.output


def test_sources_check_names_an_edited_file_and_a_run_restores_it(tmp_path: Path) -> None:
    """An edited components.go fails --check (exit 1, one line naming it); a run writes it back."""
    copy = tmp_path / "dist"
    shutil.copytree(COLLECTOR_DISTRIBUTION_DIR, copy)
    (copy / "components.go").write_text((copy / "components.go").read_text() + "\n// edited\n")
    check = CliRunner().invoke(app, ["binaries", "sources", "--dir", str(copy), "--check"])
    assert check.exit_code == 1
    lines = check.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "components.go" in lines[0], check.stderr
    assert CliRunner().invoke(app, ["binaries", "sources", "--dir", str(copy)]).exit_code == 0
    for name in GENERATED:
        assert (copy / name).read_bytes() == (COLLECTOR_DISTRIBUTION_DIR / name).read_bytes(), name


def test_sources_refuse_a_manifest_without_a_version(tmp_path: Path) -> None:
    """A manifest with no dist.version is bad input: exit 2, one line naming the file and the key."""
    (tmp_path / "manifest.yaml").write_text("dist:\n  name: x\n")
    result = CliRunner().invoke(app, ["binaries", "sources", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "manifest.yaml" in result.stderr and "dist.version" in result.stderr
