"""The parameters of a rule and the grid of variants: pure functions of rule text and SLO data."""

from __future__ import annotations

import pytest

from obsbox.replay.rules import Rule, RuleGroup
from obsbox.rules import slo as slo_rules
from obsbox.tune import space


def _group(expr: str, for_ms: int = 300_000) -> RuleGroup:
    rule = Rule("g", 0, expr, "x.rules.yaml", 3, alert="A", for_ms=for_ms, labels={"severity": "warning"})
    return RuleGroup("g", 60_000, "x.rules.yaml", 1, [rule])


def test_comparison_literals_skip_matchers_ranges_and_arithmetic() -> None:
    """Numbers inside label matchers, range brackets, bool comparisons and `> 5 * x` are not thresholds."""
    expr = 'sum(rate(x_bucket{le="0.5"}[5m])) > 0.05 and y > bool 3 and z > on (a) 5 * (w) and n >= 20'
    lits = space.comparison_literals(expr)
    assert [(lit.op, lit.text) for lit in lits] == [(">", "0.05"), (">=", "20")]
    assert expr[lits[0].start : lits[0].end] == "0.05"


def test_rule_target_sweeps_first_nonzero_threshold_for_and_keep_firing_for() -> None:
    """`deriv(..) > 0` is structure: the default sweep takes the first number that is not 0."""
    target = space.rule_target("A", [_group("deriv(q[10m]) > 0 and min_over_time(q[10m]) > 300")])
    assert [p.name for p in target.params] == ["t1", "t2", "for", "keep_firing_for"]
    assert space.default_swept(target) == ["t2", "for", "keep_firing_for"]
    assert target.params[1].grid == ("150", "225", "300", "450", "600")


def test_variant_rules_replace_the_numbers_and_durations() -> None:
    """A variant's rule has the swept number in its expression and the swept for/keep_firing_for."""
    target = space.rule_target("A", [_group("a > 0.05 and b >= 20")])
    (vr,) = target.variant_rules({"t1": "0.1", "t2": "40", "for": "0s", "keep_firing_for": "5m"})
    assert vr.doc["expr"] == "a > 0.1 and b >= 40"
    assert "for" not in vr.doc and vr.doc["keep_firing_for"] == "5m"
    assert vr.interval_ms == 60_000


def test_variants_put_the_current_setting_first_and_are_the_cross_product() -> None:
    """Same grids, same variants in the same order; v000 is the rule as it is."""
    target = space.rule_target("A", [_group("a > 0.05")])
    grids = {"t1": ("0.025", "0.05", "0.1"), "for": ("0s", "5m")}
    vs = space.variants(target.params, grids)
    assert len(vs) == 6
    assert vs[0].label(target.params) == "current"
    assert vs == space.variants(target.params, grids)
    assert {v.as_dict["t1"] for v in vs} == {"0.025", "0.05", "0.1"}


def test_parse_sweep_refuses_unknown_parameters_and_bad_values() -> None:
    """--sweep names a parameter the rule has, with values of its kind."""
    target = space.rule_target("A", [_group("a > 0.05")])
    with pytest.raises(space.TuneError, match="no parameter 'threshold'"):
        space.parse_sweep(["threshold=1"], target.params)
    with pytest.raises(space.TuneError, match="for='soon'"):
        space.parse_sweep(["for=soon"], target.params)
    assert space.parse_sweep(["t1=0.1,0.2"], target.params) == {"t1": ("0.1", "0.2")}


def test_unknown_alert_is_named() -> None:
    with pytest.raises(space.TuneError, match="no alerting rule named 'Nope'"):
        space.rule_target("Nope", [_group("a > 1")])


def _settings() -> slo_rules.SloSettings:
    return slo_rules.parse_slos(
        {
            "period": "30d",
            "services": [
                {"job": "svc", "availability_target": 0.999, "latency_threshold_seconds": 0.5, "latency_target": 0.99}
            ],
        }
    )


def test_slo_variant_scales_budget_shares_and_sets_the_guard() -> None:
    """factor 0.5 halves each tier's burn rate; the guard and for reach the rendered alert."""
    target = space.slo_target("SloAvailabilityBurnRateFast", _settings())
    values = {"factor": "0.5", "windows": "1h/5m+6h/30m", "min_requests_per_hour": "50", "for": "0s"}
    (vr,) = target.variant_rules(values)
    assert "> (7.2 * 0.001)" in vr.doc["expr"] and "> (3 * 0.001)" in vr.doc["expr"]
    assert ">= 50" in vr.doc["expr"]
    assert vr.doc["for"] == "0s"
    # Only the tuned alert's policy changes: the latency page alert keeps the workbook's.
    settings = target.settings_for(values)
    assert settings.policy("latency", True) == slo_rules.default_policy("latency", True)


def test_slo_windows_must_be_recorded_windows() -> None:
    with pytest.raises(space.TuneError, match="LONG/SHORT"):
        space.parse_windows("4h/5m")
    with pytest.raises(space.TuneError, match="shorter"):
        space.parse_windows("5m/1h")


def test_numbers_the_text_scan_cannot_place_are_refused() -> None:
    """PromQL's parser sees `> 0x10` compare with 16; the text scan cannot place it, so the rule is
    refused instead of edited at a wrong place."""
    with pytest.raises(space.TuneError, match="cannot place"):
        space.comparison_literals("a > 0x10")
