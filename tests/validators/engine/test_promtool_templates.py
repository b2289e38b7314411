"""Groups using Go template features outside obsbox's subset get promtool's verdict, never a guess.

Each case is a rule whose annotation uses `with`, `if`/`else`, `range` or `humanizeTimestamp`;
the test file expects what promtool renders (or, mutated, something else), and obsbox's exit
status must equal promtool's on the same file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.promtool.runner import run_test_file
from tests.engines import Engine

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]

RULES = """groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 1m
    labels:
      severity: page
    annotations:
      summary: {summary}
  - alert: Plain
    expr: up == 0
    labels:
      severity: ticket
    annotations:
      summary: "{{{{ $labels.job }}}} is down"
"""

# (annotation template, what promtool renders for up{job="api"} == 0 at 2m)
TEMPLATES = {
    "with": ("'{{ with $labels.job }}job {{ . }}{{ end }}'", "job api"),
    "if-else": ("'{{ if eq $labels.job \"api\" }}the API{{ else }}other{{ end }}'", "the API"),
    "range": ("'{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}'", "__name__=up;job=api;"),
    "humanizeTimestamp": ("'since {{ 1700000000 | humanizeTimestamp }}'", "since 2023-11-14 22:13:20 +0000 UTC"),
}

TEST_FILE = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'up{{job="api"}}'
    values: 0x5
  alert_rule_test:
  - eval_time: 2m
    alertname: Down
    exp_alerts:
    - exp_labels: {{job: api, severity: page}}
      exp_annotations: {{summary: "{expected}"}}
- interval: 1m
  input_series:
  - series: 'up{{job="web"}}'
    values: 0x5
  alert_rule_test:
  - eval_time: 2m
    alertname: Plain
    exp_alerts:
    - exp_labels: {{job: web, severity: ticket}}
      exp_annotations: {{summary: "web is down"}}
"""


def _write(tmp_path: Path, template: str, expected: str) -> Path:
    (tmp_path / "rules.yml").write_text(RULES.format(summary=template), encoding="utf-8")
    test = tmp_path / "t.yml"
    test.write_text(TEST_FILE.format(expected=expected.replace('"', '\\"')), encoding="utf-8")
    return test


@pytest.mark.parametrize("feature", sorted(TEMPLATES))
def test_template_group_gets_promtools_verdict(feature: str, tmp_path: Path, promtool_test: Promtool) -> None:
    """A group whose template obsbox cannot render passes when promtool passes it, and is marked as judged by promtool."""
    template, rendered = TEMPLATES[feature]
    test = _write(tmp_path, template, rendered)
    assert promtool_test(test).returncode == 0
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 0, result.output
    assert "PASS group 1" in result.output and "judged by promtool" in result.output
    assert "PASS group 2" in result.output  # the other group is obsbox's own verdict
    groups = run_test_file(test).groups
    assert [g.judge for g in groups] == ["promtool", "obsbox"]


@pytest.mark.parametrize("feature", sorted(TEMPLATES))
def test_wrong_expectation_fails_like_promtool(feature: str, tmp_path: Path, promtool_test: Promtool) -> None:
    """The same group expecting another rendering fails in both, with exit 1 and the assertion's line."""
    template, rendered = TEMPLATES[feature]
    test = _write(tmp_path, template, rendered + " (not what renders)")
    assert promtool_test(test).returncode == 1
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 1, result.output
    assert "FAIL group 1" in result.output and f"{test}:9: alert:" in result.output
    failures = run_test_file(test).groups[0].failures
    assert [(f.kind, f.subject, f.eval_time_ms) for f in failures] == [("alert", "Down", 120_000)]


def test_no_verdict_is_its_own_exit_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When promtool cannot judge the group either, it is CANNOT EVALUATE with exit 3, not a failure (1) or a pass."""
    template, rendered = TEMPLATES["with"]
    test = _write(tmp_path, template, rendered)
    broken = tmp_path / "promtool"
    broken.write_text("#!/bin/sh\necho 'panic: cannot start' >&2\nexit 2\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("OBSBOX_PROMTOOL", str(broken))
    groups = run_test_file(test).groups
    assert [g.evaluated for g in groups[:1]] == [False]
    assert "panic: cannot start" in groups[0].failures[0].message
    # The CLI, with group 2 taken out (obsbox's engine needs a working promtool to backfill).
    test.write_text(test.read_text(encoding="utf-8").split("- interval: 1m\n  input_series:\n  - series: 'up{job=\"web\"}'")[0])
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 3, result.output
    assert "CANNOT EVALUATE group 1" in result.output and "could not be evaluated" in result.output


def test_failure_outranks_no_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """A file with a failed assertion exits 1 even when another group could not be evaluated."""
    template, rendered = TEMPLATES["with"]
    test = _write(tmp_path, template, rendered)
    test.write_text(test.read_text(encoding="utf-8").replace("web is down", "web is up"), encoding="utf-8")
    broken = tmp_path / "promtool-broken"
    broken.write_text(f"#!/bin/sh\ncase \"$1\" in test) exit 2;; *) exec {engine.promtool} \"$@\";; esac\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("OBSBOX_PROMTOOL", str(broken))
    result = CliRunner().invoke(app, ["promtool-test", str(test)])
    assert result.exit_code == 1, result.output
    assert "CANNOT EVALUATE group 1" in result.output and "FAIL group 2" in result.output
