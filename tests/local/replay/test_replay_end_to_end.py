"""`obsbox replay` on a small corpus through real promtool and Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from replay_process import run_obsbox

from obsbox.replay.report_json import SCHEMA_PATH


def test_replay_passes_and_writes_valid_json(replay_rules: Path, replay_corpus: Path, tmp_path: Path, replay_tmpdir: Path) -> None:
    """The corpus passes (exit 0), and the JSON report validates and carries the real scores."""
    out = tmp_path / "report.json"
    result = run_obsbox("replay", "--rules", replay_rules, "--incidents", replay_corpus, "--json", out, tmpdir=replay_tmpdir)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    assert document["summary"]["recall"] == 1.0
    assert document["summary"]["precision"] == 1.0
    assert document["summary"]["noise_pages"] == 0
    rules = {r["alert"]: r for r in document["rules"]}
    # The error ratio crosses 5% within a minute of 10:00, is pending from the 10:01 evaluation
    # and fires 2m later (for: 2m).
    assert rules["DemoHighErrorRatio"]["detection_time_s"] == {"median": 180.0, "max": 180.0}
    assert "all expectations hold" in result.stdout
    assert list(replay_tmpdir.iterdir()) == []


def test_replay_prints_per_rule_and_overall_scores(replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path) -> None:
    """The console output has a row per rule and the overall line with caught of total."""
    result = run_obsbox("replay", "--rules", replay_rules, "--incidents", replay_corpus, tmpdir=replay_tmpdir)
    assert result.returncode == 0, result.stderr
    assert "DemoHighErrorRatio" in result.stdout and "DemoSomeErrors" in result.stdout
    assert "1 of 1" in result.stdout


def test_replay_exits_1_when_an_expectation_fails(replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path) -> None:
    """Asking for detection within 1 minute (the rule needs 3) fails the run with exit status 1."""
    manifest = replay_corpus / "http-5xx-spike.yaml"
    manifest.write_text(manifest.read_text().replace("within: 5m", "within: 1m"))
    result = run_obsbox("replay", "--rules", replay_rules, "--incidents", replay_corpus, tmpdir=replay_tmpdir)
    assert result.returncode == 1, result.stderr
    assert "expected alert DemoHighErrorRatio within 1m, fired only after 3m" in result.stdout


def test_replay_noise_page_fails_the_run(replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path, tmp_path: Path) -> None:
    """Lowering the noise threshold below the noise floor makes the critical rule page on noise."""
    rules = tmp_path / "rules.yaml"
    rules.write_text((replay_rules / "demo.rules.yaml").read_text().replace("> 0.05", "> 0.001"))
    out = tmp_path / "report.json"
    result = run_obsbox("replay", "--rules", rules, "--incidents", replay_corpus, "--json", out, tmpdir=replay_tmpdir)
    assert result.returncode == 1, result.stderr
    summary = json.loads(out.read_text())["summary"]
    assert summary["noise_pages"] == 1
    assert summary["precision"] < 1


def test_rules_option_takes_several_paths(replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path, tmp_path: Path) -> None:
    """`--rules A B` reads both files: a second file's alert shows up in the per-rule table."""
    extra = tmp_path / "extra.rules.yaml"
    extra.write_text("groups:\n  - name: extra\n    rules:\n      - alert: ExtraAlwaysQuiet\n        expr: vector(1) < 0\n")
    result = run_obsbox(
        "replay", "--rules", replay_rules / "demo.rules.yaml", extra, "--incidents", replay_corpus, tmpdir=replay_tmpdir
    )
    assert result.returncode == 0, result.stderr
    assert "ExtraAlwaysQuiet" in result.stdout and "DemoHighErrorRatio" in result.stdout
