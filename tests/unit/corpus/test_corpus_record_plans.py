"""The recorded corpus's plans file: every recording it names was made from it, and a wrong field
is refused with the file and the plan named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsbox.corpus.record_demo import PLANS, load_plans

INCIDENTS = Path(__file__).resolve().parents[3] / "alert_rules" / "incidents"


def test_every_plan_has_its_recording_and_manifest_kind() -> None:
    for name, plan in PLANS.items():
        manifest = yaml.safe_load((INCIDENTS / f"{name}.yaml").read_text(encoding="utf-8"))
        assert manifest["kind"] == plan.kind, name
        assert (INCIDENTS / f"{name}.om").exists() or (INCIDENTS / f"{name}.om.gz").exists(), name
        assert "{" not in plan.description, name  # every placeholder was filled


def test_a_fault_becomes_the_fault_switch_rule() -> None:
    assert PLANS["recorded-5xx-spike"].faults == {"rules": [{"route": "*", "tenant": "*", "error_rate": 0.4, "status": 503}]}
    assert PLANS["recorded-restart"].faults == {}


def test_an_unknown_field_names_the_file_and_the_plan(tmp_path: Path) -> None:
    bad = tmp_path / "plans.yaml"
    bad.write_text("recorded-x:\n  kind: noise\n  description: d\n  before_s: 1\n  fault_s: 1\n  after_s: 1\n  replicas: 2\n")
    with pytest.raises(ValueError, match=rf"^{bad}: plan 'recorded-x': .*replicas"):
        load_plans(bad)
