"""`obsbox replay --score-by`: testing a rule of one's own against a corpus written for other
rules, through real promtool and Prometheus, and one line per rule for pages on noise."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from replay_process import run_obsbox

from obsbox.replay.report_json import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[3]

MY_RULE = """groups:
  - name: mine
    interval: 30s
    rules:
      - alert: MyServerErrors
        expr: sum by (job) (rate(http_requests_total{code="503"}[5m])) > 1
        for: 1m
        labels:
          severity: critical
"""

ANY_SERVER_ERROR = """groups:
  - name: mine
    interval: 1m
    rules:
      - alert: AnyServerError
        expr: sum by (job) (rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[5m])) > 0
        for: 1m
        labels:
          severity: critical
"""


@pytest.fixture
def shipped_layout(replay_rules: Path, replay_corpus: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The fixture corpus laid out like alert_rules/: the rules it names beside incidents/, and a
    rule of one's own elsewhere."""
    layout = tmp_path / "alert_rules"
    layout.mkdir()
    shutil.copy(replay_rules / "demo.rules.yaml", layout / "demo.rules.yaml")
    shutil.copytree(replay_corpus, layout / "incidents")
    mine = tmp_path / "mine.rules.yaml"
    mine.write_text(MY_RULE)
    return mine, layout / "incidents"


def test_own_rule_catches_nothing_by_name(shipped_layout: tuple[Path, Path], replay_tmpdir: Path, tmp_path: Path) -> None:
    """By name (the default) a rule of one's own is charged with no window: "—", never "0 of 0"."""
    mine, incidents = shipped_layout
    out = tmp_path / "r.json"
    result = run_obsbox("replay", "--rules", mine, "--incidents", incidents, "--json", out, tmpdir=replay_tmpdir)
    assert result.returncode == 1, result.stderr
    rule = json.loads(out.read_text())["rules"][0]
    assert (rule["alert"], rule["windows"], rule["recall"]) == ("MyServerErrors", 0, None)
    assert rule["detection_time_s"] == {"median": None, "max": None}
    assert "0 of 0" not in result.stdout


def test_own_rule_scored_by_severity(shipped_layout: tuple[Path, Path], replay_tmpdir: Path, tmp_path: Path) -> None:
    """--score-by severity: the incident naming a critical alert is caught by my critical rule."""
    mine, incidents = shipped_layout
    out = tmp_path / "r.json"
    result = run_obsbox(
        "replay", "--rules", mine, "--incidents", incidents, "--score-by", "severity", "--json", out, tmpdir=replay_tmpdir
    )
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    assert document["summary"]["score_by"] == "severity"
    rule = document["rules"][0]
    assert (rule["alert"], rule["caught"], rule["windows"], rule["recall"]) == ("MyServerErrors", 1, 1, 1.0)
    # The manifest also asks for a warning (DemoSomeErrors' severity): my critical rule cannot
    # give one, and the failure says what it stood for.
    assert result.returncode == 1, result.stderr
    assert re.search(r"expected severity warning \(for severity warning \{job=demo\}\) within 10m, did not fire", result.stdout)
    assert "(for alert DemoHighErrorRatio)" not in result.stdout  # that one held


def test_own_rule_scored_by_labels(shipped_layout: tuple[Path, Path], replay_tmpdir: Path, tmp_path: Path) -> None:
    """--score-by labels: any notifying alert with the expectation's labels meets it; my rule,
    aggregated by job, meets both expectations of the incident and the run passes."""
    mine, incidents = shipped_layout
    out = tmp_path / "r.json"
    result = run_obsbox(
        "replay", "--rules", mine, "--incidents", incidents, "--score-by", "labels", "--json", out, tmpdir=replay_tmpdir
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rule = json.loads(out.read_text())["rules"][0]
    assert (rule["caught"], rule["windows"]) == (1, 1)


def test_score_by_severity_names_an_alert_no_rule_file_has(
    replay_corpus: Path, replay_tmpdir: Path, tmp_path: Path
) -> None:
    """An expectation naming an alert found in no rule file is refused naming manifest and line."""
    mine = tmp_path / "mine.rules.yaml"
    mine.write_text(MY_RULE)
    result = run_obsbox("replay", "--rules", mine, "--incidents", replay_corpus, "--score-by", "severity", tmpdir=replay_tmpdir)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("engine: ", "warning: "))]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: {replay_corpus / 'http-5xx-spike.yaml'}:14: --score-by severity: alert DemoHighErrorRatio")


def test_shipped_corpus_pages_on_noise_are_one_line_per_rule(replay_tmpdir: Path, tmp_path: Path) -> None:
    """A noisy rule of one's own on the shipped corpus: one summary line for its pages on noise
    (not one FAIL line per episode), and it is scored by severity against the incidents."""
    mine = tmp_path / "mine.rules.yaml"
    mine.write_text(ANY_SERVER_ERROR)
    out = tmp_path / "r.json"
    result = run_obsbox(
        "replay", "--rules", mine, "--incidents", ROOT / "alert_rules" / "incidents", "--score-by", "severity",
        "--json", out, tmpdir=replay_tmpdir,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(out.read_text())
    quiet = document["summary"]["quiet_violations"]
    assert len(quiet) == 1 and quiet[0]["alert"] == "AnyServerError" and quiet[0]["episodes"] > 20
    line = f"FAIL AnyServerError: {quiet[0]['episodes']} pages on {len(quiet[0]['recordings'])} noise recordings"
    assert line in result.stdout.splitlines()
    fail_lines = [ln for ln in result.stdout.splitlines() if ln.startswith("FAIL ")]
    # At most one per incident window, plus the summary line.
    assert len(fail_lines) <= document["summary"]["windows"] + 1
    rule = document["rules"][0]
    assert rule["windows"] >= 1 and rule["caught"] >= 1  # the HTTP incidents that ask for a page
