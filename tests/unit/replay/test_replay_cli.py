"""`obsbox import` through the CLI runner: files written, or one line on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.replay.recording import load_recording


def _nab_files(tmp_path: Path, body: str) -> tuple[Path, Path]:
    csv = tmp_path / "cpu.csv"
    csv.write_text(body)
    windows = tmp_path / "windows.json"
    windows.write_text(json.dumps({"data/cpu.csv": [["2014-01-01 00:10:00", "2014-01-01 00:20:00"]]}))
    return csv, windows


def test_import_nab_writes_recording(tmp_path: Path) -> None:
    """`obsbox import nab` prints the manifest path and the recording loads."""
    rows = "".join(f"2014-01-01 00:{m:02d}:00,{m}\n" for m in range(0, 60, 5))
    csv, windows = _nab_files(tmp_path, "timestamp,value\n" + rows)
    result = CliRunner().invoke(app, ["import", "nab", str(csv), "--windows", str(windows), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    manifest = Path(result.stdout.strip())
    assert manifest == tmp_path / "out" / "cpu.yaml"
    assert load_recording(manifest).manifest.fire[0].severity == "critical"


def test_import_nab_bad_row_is_one_line(tmp_path: Path) -> None:
    """A bad CSV row gives exit 2 and one stderr line naming the file and row."""
    csv, windows = _nab_files(tmp_path, "timestamp,value\n2014-01-01 00:00:00,1\nyesterday,2\n")
    result = CliRunner().invoke(app, ["import", "nab", str(csv), "--windows", str(windows), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {csv}:3: 'yesterday' is not a timestamp"]
    assert not (tmp_path / "out").exists()


def test_import_promtool_bad_file_is_one_line(tmp_path: Path) -> None:
    """A promtool test file with an unknown field gives exit 2 and one line naming file and line."""
    bad = tmp_path / "bad.test.yaml"
    bad.write_text("rule_files: []\ntests:\n  - interval: 1m\n    input_seris: []\n")
    result = CliRunner().invoke(app, ["import", "promtool", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:"), lines


def test_progress_adapter_follows_engine_stages() -> None:
    """The engine's (stage, fraction) calls move the progress bar and name the stage."""
    from rich.console import Console
    from rich.progress import Progress

    from obsbox.commands.replay import _ProgressAdapter

    progress = Progress(console=Console(file=io.StringIO()))
    adapter = _ProgressAdapter(progress)
    adapter("backfill", 0.1)
    adapter("evaluate", 0.55)
    task = progress.tasks[0]
    assert (task.description, task.completed, task.total) == ("evaluate", 55, 100)
