"""The recommended change written into rule files and slos.yaml as text, checked by loading it back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsbox.replay.rules import load_rule_groups
from obsbox.rules import slo as slo_rules
from obsbox.tune import edit, space

RULES = """\
# A comment that must stay.
groups:
  - name: jobs
    interval: 1m
    rules:
      - alert: Backlog
        # Why this rule exists.
        expr: |
          min_over_time(age[10m]) > 300
          and
          deriv(age[10m]) > 0
        for: 10m
        labels:
          severity: warning
      - alert: Other
        expr: x > 1
        for: 5m
"""


def _target(path: Path) -> space.RuleTarget:
    return space.rule_target("Backlog", load_rule_groups([path]))


def test_rule_change_edits_threshold_for_and_adds_keep_firing_for(tmp_path: Path) -> None:
    """Only the tuned rule's lines change; comments and the other rule stay; the result loads as the variant."""
    path = tmp_path / "jobs.rules.yaml"
    path.write_text(RULES)
    (change,) = edit.rule_changes(_target(path), {"t1": "150", "t2": "0", "for": "5m", "keep_firing_for": "10m"})
    rule = next(r for g in load_rule_groups([path]) for r in g.rules if r.alert == "Backlog")
    assert "min_over_time(age[10m]) > 150" in change.new
    assert "# A comment that must stay." in change.new and "# Why this rule exists." in change.new
    assert change.new.count("for: 5m") == 2  # the tuned rule's and Other's, untouched
    assert "        keep_firing_for: 10m\n" in change.new
    assert change.diff().startswith(f"--- {path}\n+++ {path}\n")
    assert rule.for_ms == 600_000  # not written yet
    edit.apply_changes([change])
    tuned = next(r for g in load_rule_groups([path]) for r in g.rules if r.alert == "Backlog")
    assert (tuned.for_ms, tuned.keep_firing_for_ms) == (300_000, 600_000)
    assert "> 150" in tuned.expr


def test_for_zero_removes_the_line(tmp_path: Path) -> None:
    path = tmp_path / "jobs.rules.yaml"
    path.write_text(RULES)
    (change,) = edit.rule_changes(_target(path), {"for": "0s"})
    assert "for: 10m" not in change.new
    assert change.new.count("\n") == RULES.count("\n") - 1


def test_text_edit_that_misses_is_refused(tmp_path: Path) -> None:
    """A rule whose expression the text edit cannot follow fails with a message, never a wrong write."""
    path = tmp_path / "r.rules.yaml"
    path.write_text('groups:\n- name: g\n  rules:\n  - alert: Backlog\n    expr: "x >\\\n      300"\n')
    target = _target(path)
    with pytest.raises(space.TuneError, match=r"r\.rules\.yaml"):
        edit.rule_changes(target, {"t1": "150"})


SLOS = """\
# SLOs (comment kept)
period: 30d
services:
  - job: a
    availability_target: 0.999
    latency_threshold_seconds: 0.5
    latency_target: 0.99
    min_requests_per_hour: 100
"""


def test_slo_change_writes_burn_rates_and_renders_the_rules(tmp_path: Path) -> None:
    """slos.yaml gains the tuned alert's tiers; slo.rules.yaml is rendered again from the new file."""
    slos = tmp_path / "slos.yaml"
    slos.write_text(SLOS)
    target = space.slo_target("SloLatencyBurnRateFast", slo_rules.load_slos(slos))
    values = {"factor": "1.5", "windows": "1h/5m", "min_requests_per_hour": "200", "for": "1m"}
    changes = edit.slo_changes(target, values, slos, tmp_path / "slo.rules.yaml")
    edit.apply_changes(changes)
    settings = slo_rules.load_slos(slos)
    assert settings == target.settings_for(values)
    assert settings.policy("latency", True) == slo_rules.BurnPolicy((slo_rules.BurnTier(0.03, "1h", "5m"),), "1m")
    assert settings.policy("availability", True) == slo_rules.DEFAULT_PAGE
    assert "# SLOs (comment kept)" in slos.read_text()
    rendered = yaml.safe_load((tmp_path / "slo.rules.yaml").read_text())
    fast = next(r for r in rendered["groups"][0]["rules"] if r.get("alert") == "SloLatencyBurnRateFast")
    assert "> (21.6 * 0.01)" in fast["expr"] and ">= 200" in fast["expr"] and fast["for"] == "1m"
    # Tuning back to the workbook's removes the block again.
    back = space.slo_target("SloLatencyBurnRateFast", settings)
    current = {p.name: p.current for p in back.params}
    restored = edit.edit_slos_text(slos.read_text(), space.slo_target("SloLatencyBurnRateFast", settings).settings_for(current))
    assert "burn_rates" in restored  # unchanged values keep their block


def test_bad_burn_rates_name_the_field() -> None:
    data = yaml.safe_load(SLOS)
    data["burn_rates"] = {"latency": {"page": {"tiers": [{"budget_share": 0.02, "long": "2h", "short": "5m"}]}}}
    with pytest.raises(slo_rules.SloError, match=r"burn_rates\.latency\.page\.tiers\[0\]: field 'long'"):
        slo_rules.parse_slos(data, "slos.yaml")
