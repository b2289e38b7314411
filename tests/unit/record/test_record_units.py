"""Pure parts of `obsbox record` and `obsbox rules render`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.recorder import RecordRequest, chunks, manifest_skeleton

REPO = Path(__file__).resolve().parents[3]


def test_record_chunks_cover_range_without_gaps() -> None:
    """Chunks tile [start, end] exactly, the last one shortened."""
    assert chunks(0, 250, 100) == [(0, 100), (100, 200), (200, 250)]


def test_record_request_refuses_empty_range() -> None:
    """An end before the start is refused."""
    with pytest.raises(ValueError, match="not after start"):
        RecordRequest("http://127.0.0.1:9090", ("up",), 100, 50)


def test_record_incident_skeleton_needs_window_and_alert() -> None:
    """An incident manifest without a window or expected alert is refused (it could not load)."""
    with pytest.raises(ValueError, match="--window"):
        manifest_skeleton("x", "x.om", "0", "60", kind="incident", description="d", source_detail="s")


def test_record_command_refuses_bad_window(tmp_path: Path) -> None:
    """A --window without START/END fails with exit status 2 before any query."""
    result = CliRunner().invoke(
        app,
        [
            "record",
            "--prometheus",
            "http://127.0.0.1:9",
            "--match",
            "up",
            "--start",
            "0",
            "--end",
            "60",
            "--name",
            "x",
            "--out",
            str(tmp_path),
            "--window",
            "10",
        ],
    )
    assert result.exit_code == 2 and "START/END" in result.output


def test_rules_render_writes_slo_rules(tmp_path: Path) -> None:
    """`obsbox rules render` writes the rendered rules, and --check then finds them up to date."""
    out = tmp_path / "slo.rules.yaml"
    slos = str(REPO / "alert_rules" / "slos.yaml")
    first = CliRunner().invoke(app, ["rules", "render", "--slos", slos, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert out.read_text() == (REPO / "alert_rules" / "slo.rules.yaml").read_text()
    check = CliRunner().invoke(app, ["rules", "render", "--slos", slos, "--out", str(out), "--check"])
    assert check.exit_code == 0


def test_rules_render_check_detects_stale_file(tmp_path: Path) -> None:
    """--check fails with exit status 2 when the rule file differs from a fresh render."""
    out = tmp_path / "slo.rules.yaml"
    out.write_text("groups: []\n")
    slos = str(REPO / "alert_rules" / "slos.yaml")
    result = CliRunner().invoke(app, ["rules", "render", "--slos", slos, "--out", str(out), "--check"])
    assert result.exit_code == 2 and "is not what" in result.output


def test_record_window_without_expected_alert_fails_before_any_query(tmp_path: Path) -> None:
    """--window alone makes an incident that needs --expect-alert: refused before Prometheus is asked."""
    result = CliRunner().invoke(
        app,
        ["record", "--prometheus", "http://127.0.0.1:9", "--match", "up", "--start", "0", "--end", "60",
         "--name", "x", "--out", str(tmp_path), "--window", "10/20"],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: an incident recording needs --window START/END and --expect-alert"
    assert list(tmp_path.iterdir()) == []
