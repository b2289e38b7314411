"""`obsbox replay` on bad input: exit 2, one line naming file and line, no traceback, no report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app
from tests.validators.replay.conftest import FIXTURES


def _replay(rules: Path, corpus: Path, tmp_path: Path) -> tuple[int, list[str], Path]:
    report = tmp_path / "out.json"
    html = tmp_path / "out.html"
    result = CliRunner().invoke(
        app, ["replay", "--rules", str(rules), "--incidents", str(corpus), "--json", str(report), "--html", str(html)]
    )
    assert not report.exists() and not html.exists(), "a report was written despite the error"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    # The engine banner (which Prometheus evaluates, and a warning when it is not the deploy's)
    # may precede the error; nothing else may.
    lines = [line for line in result.stderr.splitlines() if line.strip() and not _engine_line(line)]
    return result.exit_code, lines, report


def _engine_line(line: str) -> bool:
    return line.startswith(("engine: Prometheus ", "warning: the engine is Prometheus "))



def _assert_one_line_error(code: int, lines: list[str], prefix: str) -> None:
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {prefix}"), lines[0]
    assert "Traceback" not in lines[0]


def test_malformed_rule_file_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """A rule file that is not valid rule YAML is refused naming the rule file."""
    rules = tmp_path / "bad.rules.yaml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: soon\n")
    code, lines, _ = _replay(rules, corpus, tmp_path)
    _assert_one_line_error(code, lines, str(rules))


def test_unparsable_promql_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """PromQL that does not parse is refused naming the rule file and line."""
    rules = tmp_path / "bad.rules.yaml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m]) > \n")
    code, lines, _ = _replay(rules, corpus, tmp_path)
    _assert_one_line_error(code, lines, str(rules))


def test_missing_rule_file_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """A rule path that does not exist is refused naming it."""
    code, lines, _ = _replay(tmp_path / "nowhere.yaml", corpus, tmp_path)
    _assert_one_line_error(code, lines, f"{tmp_path / 'nowhere.yaml'}: no such rule file")


def test_window_outside_data_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """A window after the data's end is refused naming the manifest and the window's line."""
    manifest = corpus / "http-5xx-spike.yaml"
    manifest.write_text(manifest.read_text().replace("end: 2026-11-20T10:20:00Z", "end: 2026-11-20T12:20:00Z"))
    code, lines, _ = _replay(FIXTURES / "rules", corpus, tmp_path)
    _assert_one_line_error(code, lines, f"{manifest}:10:")


def test_unsorted_samples_are_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """Swapping two samples of a series is refused naming the data file and line."""
    data = corpus / "quiet-night.om"
    lines_in = data.read_text().splitlines(keepends=True)
    lines_in[4], lines_in[5] = lines_in[5], lines_in[4]
    data.write_text("".join(lines_in))
    code, lines, _ = _replay(FIXTURES / "rules", corpus, tmp_path)
    _assert_one_line_error(code, lines, f"{data}:6:")


def test_empty_recording_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    """A data file with no samples is refused naming it."""
    (corpus / "quiet-night.om").write_text("# EOF\n")
    code, lines, _ = _replay(FIXTURES / "rules", corpus, tmp_path)
    _assert_one_line_error(code, lines, f"{corpus / 'quiet-night.om'}:1:")


def test_no_prometheus_binary_is_one_line_error(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a prometheus binary the replay stops with one line saying what to install."""
    from obsbox.replay import engine

    real = engine.find_binary
    monkeypatch.setattr(engine, "find_binary", lambda name: None if name == "prometheus" else real(name))
    code, lines, _ = _replay(FIXTURES / "rules", corpus, tmp_path)
    _assert_one_line_error(code, lines, "no prometheus binary")
