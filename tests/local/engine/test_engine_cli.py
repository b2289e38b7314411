"""`obsbox promtool-test` and `obsbox export-promtool` end to end, through the CLI runner."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from obsbox.cli import app
from tests.engines import Engine

RULES = """groups:
- name: g
  interval: 1m
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels:
      severity: page
    annotations:
      summary: "{{ $labels.job }} down at {{ $value | humanize }}"
"""


def test_promtool_test_passes_a_passing_file(write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """A test file whose expectations hold exits 0 and reports the group as PASS."""
    write_rules(RULES)
    test = tmp_path / "t.yml"
    test.write_text(
        "rule_files: [rules.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: 'up{job=\"api\"}'\n    values: 0x5\n"
        "  alert_rule_test:\n  - eval_time: 2m\n    alertname: Down\n    exp_alerts:\n"
        "    - exp_labels: {job: api, severity: page}\n      exp_annotations: {summary: api down at 0}\n"
    )
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 0, result.output
    assert "PASS group 1" in result.output


def test_template_outside_subset_is_judged_by_promtool(write_rules: Callable[[str], Path], tmp_path: Path) -> None:
    """An annotation using `if` is judged by promtool (which passes it) and the output says so."""
    write_rules(RULES.replace('"{{ $labels.job }} down at {{ $value | humanize }}"', '"{{ if $labels.job }}x{{ end }}"'))
    test = tmp_path / "t.yml"
    test.write_text(
        "rule_files: [rules.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: 'up{job=\"api\"}'\n    values: 0x5\n"
        "  alert_rule_test:\n  - eval_time: 2m\n    alertname: Down\n    exp_alerts:\n"
        "    - exp_labels: {job: api, severity: page}\n      exp_annotations: {summary: x}\n"
    )
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 0, result.output
    assert "PASS group 1" in result.output and "judged by promtool" in result.output and "'if'" in result.output


def test_bad_test_file_is_one_line_error(tmp_path: Path) -> None:
    """A malformed test file gives exit 2 and one error line naming file and line."""
    test = tmp_path / "t.yml"
    test.write_text("tests:\n  - input_series:\n      - series: up\n        values: '1 what'\n")
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 2
    assert f"{test}:3:" in result.output and "Traceback" not in result.output


def test_export_promtool_writes_a_file_promtool_accepts(write_rules: Callable[[str], Path], tmp_path: Path, engine: Engine) -> None:
    """export-promtool on an OpenMetrics recording writes a test file that the engine's promtool passes."""
    rules = write_rules(RULES)
    om = tmp_path / "rec.om"
    lines = [f'up{{job="api"}} {0 if 600 <= t <= 1500 else 1} {1_700_000_000 + t}' for t in range(0, 2400, 15)]
    om.write_text("\n".join(lines) + "\n# EOF\n")
    out = tmp_path / "export.yml"
    result = CliRunner().invoke(app, ["export-promtool", "--rules", str(rules), "--recording", str(om), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert 'alertname="Down"' in out.read_text()
    check = subprocess.run([engine.promtool, "test", "rules", out.name], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stderr
