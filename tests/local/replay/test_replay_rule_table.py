"""The per-rule table on the shipped rules and corpus (real promtool and Prometheus): rules that
cannot see a recording are not charged with it, "no data" instead of "0 of N", no "0 of 0" with a
detection time, one number format per column, and names never cut into look-alikes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from replay_process import run_obsbox
from rich.console import Console

from obsbox.replay.report_json import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[3]
# These tests are about scoring and the table, on the shipped corpus with the shipped rules. They
# name Debian's Prometheus 2.42 (the second engine the rule tester supports): with the pinned 3.x
# build, writing the recording rules' results back for this corpus is refused ("timestamp is too
# far in the future"), an engine matter outside what is tested here.
DEBIAN_PROMETHEUS = Path("/usr/bin/prometheus")
pytestmark = pytest.mark.skipif(not DEBIAN_PROMETHEUS.exists(), reason="Debian's prometheus 2.42 is not installed")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """The JSON report and the console output of the shipped rules on the shipped corpus."""
    tmp = tmp_path_factory.mktemp("shipped")
    (tmp / "tmp").mkdir()
    out = tmp / "report.json"
    result = run_obsbox(
        "replay", "--rules", ROOT / "alert_rules", "--incidents", ROOT / "alert_rules" / "incidents", "--json", out,
        "--prometheus", DEBIAN_PROMETHEUS, tmpdir=tmp / "tmp",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    return document, result.stdout


def _rules(document: dict) -> dict[tuple[str, str], dict]:
    return {(r["alert"], r["group"]): r for r in document["rules"]}


def test_rules_of_a_service_absent_from_the_corpus_say_no_data(shipped: tuple[dict, str]) -> None:
    """The payments-demo SLO pages, named by incidents of invoicing-demo only (payments-demo
    traffic exists only in the low-traffic noise recording), are "no data", not 0 of 4."""
    document, stdout = shipped
    rule = _rules(document)[("SloAvailabilityBurnRateFast", "slo-payments-demo")]
    assert (rule["windows"], rule["caught"], rule["recall"]) == (0, 0, None)
    assert rule["no_data_windows"] == 4
    row = next(ln for ln in stdout.splitlines() if "SloAvailabilityBurnRateFast (slo.rules.yaml: slo-payments-demo)" in ln)
    assert "no data" in row and " of " not in row


def test_a_severity_expectation_charges_only_rules_that_fit_its_labels(shipped: tuple[dict, str]) -> None:
    """disk-filling asks for `severity: critical {mountpoint=/var}`: HostDown (no mountpoint) is
    not charged with it; HostDiskWillFillIn4h, whose series carry mountpoint=/var, is."""
    document, _ = shipped
    rules = _rules(document)
    assert (rules[("HostDown", "hosts")]["caught"], rules[("HostDown", "hosts")]["windows"]) == (1, 1)
    disk = rules[("HostDiskWillFillIn4h", "hosts")]
    assert (disk["caught"], disk["windows"]) == (1, 1)


def test_no_detection_time_without_a_charged_window(shipped: tuple[dict, str]) -> None:
    """A rule charged with no window has no detection or reset time (never "0 of 0" with one)."""
    document, stdout = shipped
    for rule in document["rules"]:
        if rule["windows"] == 0:
            assert rule["detection_time_s"] == {"median": None, "max": None}, rule["alert"]
            assert rule["reset_time_s"] == {"median": None, "max": None}, rule["alert"]
    assert "0 of 0" not in stdout


def test_ratio_columns_use_one_format(shipped: tuple[dict, str]) -> None:
    """Recall and precision cells are all 0.00..1.00 or an em dash: no 100% beside 0.83."""
    _, stdout = shipped
    cells = []
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) == 10:  # a per-rule row: alert, severity, caught, recall, precision, ...
            cells += [parts[4], parts[5]]
    assert len(cells) >= 40
    assert "%" not in stdout
    assert all(re.fullmatch(r"[01]\.\d\d|\u2014", c) for c in cells), cells


def test_narrow_terminal_keeps_every_name_whole(shipped: tuple[dict, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """On an 80-column terminal every rule's label is printed whole, on a line of its own."""
    from types import SimpleNamespace

    from obsbox.commands.replay import print_scores
    from obsbox.replay.prometheus import PROMETHEUS_ENV
    from obsbox.replay.report_html import rule_labels
    from obsbox.replay.runner import run_replay

    monkeypatch.setenv(PROMETHEUS_ENV, str(DEBIAN_PROMETHEUS))
    report = run_replay([ROOT / "alert_rules"], ROOT / "alert_rules" / "incidents")
    buffer = io.StringIO()
    print_scores(Console(file=buffer, width=80), SimpleNamespace(scores=report.scores, passed=report.passed))
    lines = buffer.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    labels = rule_labels(report.scores.rules)
    assert len(set(labels)) == len(labels)
    for label in labels:
        assert label in [line.strip(" │") for line in lines], label
    assert "…" not in buffer.getvalue().split("Overall")[0]
