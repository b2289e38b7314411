"""``obsbox dashboards build`` writes deterministic files, and the checked-in build matches the code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dashboards import BUILD_DIR, module_names
from dashboards._files import differences, rendered, write
from obsbox.cli import app


def main(argv: list[str]) -> int:
    return CliRunner().invoke(app, ["dashboards", "build", *argv]).exit_code


def test_build_is_deterministic() -> None:
    """Two builds produce byte-identical files."""
    assert rendered() == rendered()


def test_build_writes_one_file_per_dashboard(tmp_path: Path) -> None:
    """The build writes <uid>.json for every dashboard module and nothing else."""
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.json" for name in module_names()]


def test_check_reports_changed_and_leftover_files(tmp_path: Path) -> None:
    """--check fails naming a hand-edited file and a file of a removed dashboard."""
    write(tmp_path)
    (tmp_path / "slo.json").write_text("{}\n")
    (tmp_path / "removed.json").write_text("{}\n")
    assert differences(tmp_path) == ["removed.json", "slo.json"]
    assert main(["--out", str(tmp_path), "--check"]) == 1


def test_rebuild_removes_files_of_removed_dashboards(tmp_path: Path) -> None:
    """A rebuild deletes JSON files no module builds any more, so the deploy never provisions them."""
    (tmp_path / "removed.json").write_text("{}\n")
    write(tmp_path)
    assert not (tmp_path / "removed.json").exists()
    assert differences(tmp_path) == []


def test_checked_in_build_matches_the_code() -> None:
    """dashboards/build holds exactly what the modules build now (run `obsbox dashboards build` after edits)."""
    assert differences(BUILD_DIR) == [], "dashboards/build is stale: run `.venv/bin/obsbox dashboards build`"
