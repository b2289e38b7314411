"""A promtool test imported as recordings passes `obsbox replay`, as it passes promtool."""

from __future__ import annotations

from pathlib import Path

from replay_process import run_obsbox

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"


def test_imported_promtool_test_passes_replay(tmp_path: Path, replay_tmpdir: Path) -> None:
    """Importing the demo promtool test and replaying it against the same rules exits 0."""
    out = tmp_path / "imported"
    imported = run_obsbox("import", "promtool", FIXTURES / "promtool" / "demo.test.yaml", "--out", out)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == [str(out / "demo-test-g1-at-18m.yaml")]
    result = run_obsbox("replay", "--rules", FIXTURES / "rules", "--incidents", out, tmpdir=replay_tmpdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all expectations hold" in result.stdout
