"""Scores from hand-made evaluations: precision, recall, detection and reset time, noise pages."""

from __future__ import annotations

from replay_builders import MIN, make_evaluation, make_recording, make_rule, states_firing

from obsbox.replay.recording import FireExpectation
from obsbox.replay.scoring import Stat, catch_span, score, score_recording


def test_window_caught_when_alert_fires_within_deadline() -> None:
    """An alert firing 3 minutes after the window start meets a 5-minute expectation."""
    rec = make_recording()
    ev = make_evaluation([make_rule(states=states_firing(61, [(13, 22)]))])
    result = score_recording(rec, ev)
    assert result.windows[0].caught
    assert result.windows[0].detection_s == 180
    assert result.passed


def test_window_missed_when_alert_fires_too_late() -> None:
    """An alert firing 8 minutes in misses a 5-minute expectation and the failure says by how much."""
    rec = make_recording()
    ev = make_evaluation([make_rule(states=states_firing(61, [(18, 25)]))])
    result = score_recording(rec, ev)
    assert not result.windows[0].caught
    assert result.windows[0].expectations[0].detection_s == 480
    assert "fired only after 8m" in result.violations[0]


def test_reset_time_is_last_firing_minus_window_end() -> None:
    """An alert that stops firing 4 minutes after the window's end has a reset time of 240 s."""
    rec = make_recording()
    ev = make_evaluation([make_rule(states=states_firing(61, [(12, 24)]))])
    assert score_recording(rec, ev).windows[0].reset_s == 240


def test_already_firing_at_window_start_detects_in_zero() -> None:
    """An alert that was already firing when the window opened has detection time 0."""
    rec = make_recording()
    ev = make_evaluation([make_rule(states=states_firing(61, [(5, 15)]))])
    assert score_recording(rec, ev).windows[0].detection_s == 0


def test_precision_counts_episodes_outside_windows_as_false() -> None:
    """One episode in the window and one far outside it give a precision of 0.5."""
    rec = make_recording()
    ev = make_evaluation([make_rule(states=states_firing(61, [(12, 14), (40, 45)]))])
    scores = score([(rec, ev)])
    assert scores.summary.episodes == 2
    assert scores.summary.precision == 0.5
    assert scores.rules[0].precision == 0.5


def test_late_firing_inside_catch_span_is_not_a_false_positive() -> None:
    """An episode starting after the window end but before start+within counts as relevant."""
    rec = make_recording(windows=[(10 * MIN, 12 * MIN)], fire=[FireExpectation(within_s=600, alert="HighErrors")])
    ev = make_evaluation([make_rule(states=states_firing(61, [(15, 16)]))])
    assert catch_span(rec.manifest.windows[0], rec.manifest.fire) == (10 * MIN, 20 * MIN)
    assert score([(rec, ev)]).summary.precision == 1.0


def test_ratios_are_none_when_denominator_is_zero() -> None:
    """With no windows and no firing, recall and precision are None, not 0 or 1."""
    rec = make_recording(kind="noise", windows=[])
    ev = make_evaluation([make_rule(states=[])])
    s = score([(rec, ev)]).summary
    assert s.recall is None and s.precision is None
    assert s.detection_s == Stat(None, None)
    assert s.passed


def test_noise_page_fails_noise_recording() -> None:
    """A critical alert firing on a noise recording is a noise page and a failed expectation."""
    rec = make_recording(kind="noise", windows=[])
    ev = make_evaluation([make_rule(states=states_firing(61, [(30, 31)]))])
    scores = score([(rec, ev)])
    assert scores.summary.noise_pages == 1
    assert not scores.summary.passed
    assert "critical must stay quiet" in scores.summary.failures[0]
    assert scores.rules[0].noise_episodes == 1


def test_warning_on_noise_is_not_a_page() -> None:
    """A warning alert on noise is an episode but neither a page nor a failure by default."""
    rec = make_recording(kind="noise", windows=[])
    ev = make_evaluation([make_rule(states=states_firing(61, [(30, 31)]), severity="warning")])
    scores = score([(rec, ev)])
    assert scores.summary.noise_pages == 0
    assert scores.summary.passed
    assert scores.summary.precision == 0.0


def test_severity_expectation_matches_any_alert_of_that_severity() -> None:
    """A `severity: critical` expectation is met by whichever critical alert fires first."""
    rec = make_recording(fire=[FireExpectation(within_s=300, severity="critical")])
    ev = make_evaluation(
        [
            make_rule("Slow", states=states_firing(61, [(14, 20)])),
            make_rule("Fast", states=states_firing(61, [(11, 20)])),
        ]
    )
    window = score_recording(rec, ev).windows[0]
    assert window.caught and window.detection_s == 60


def test_label_expectation_requires_matching_labels() -> None:
    """An expectation with labels is not met by an alert instance whose labels differ."""
    rec = make_recording(fire=[FireExpectation(within_s=300, alert="HighErrors", labels={"job": "api"})])
    rule = make_rule(states={(("job", "worker"),): states_firing(61, [(11, 20)])})
    assert not score_recording(rec, make_evaluation([rule])).windows[0].caught


def test_every_expectation_must_hold_for_every_window() -> None:
    """With two windows, an alert catching only the first leaves recall at 0.5 and the run failed."""
    rec = make_recording(windows=[(10 * MIN, 15 * MIN), (40 * MIN, 45 * MIN)])
    ev = make_evaluation([make_rule(states=states_firing(61, [(11, 16)]))])
    s = score([(rec, ev)]).summary
    assert (s.caught, s.windows, s.missed, s.recall) == (1, 2, 1, 0.5)
    assert not s.passed


def test_rule_recall_counts_only_windows_naming_the_rule() -> None:
    """A rule no expectation names has recall None, and no detection time, even when it fires
    during a window (its firing there counts in its precision instead)."""
    rec = make_recording()
    named = make_rule("HighErrors", states=states_firing(61, [(12, 20)]))
    other = make_rule("Other", states=states_firing(61, [(12, 20)]), severity="warning")
    rules = {r.alert: r for r in score([(rec, make_evaluation([named, other]))]).rules}
    assert rules["HighErrors"].recall == 1.0
    assert rules["Other"].recall is None
    assert rules["Other"].windows == 0
    assert rules["Other"].detection_s == Stat(None, None)
    assert rules["Other"].relevant_episodes == 1


def test_detection_median_and_max_over_windows() -> None:
    """Detection times of 1, 2 and 6 minutes give a median of 120 s and a max of 360 s."""
    rec = make_recording(
        windows=[(5 * MIN, 8 * MIN), (20 * MIN, 23 * MIN), (40 * MIN, 43 * MIN)],
        fire=[FireExpectation(within_s=600, alert="HighErrors")],
    )
    ev = make_evaluation([make_rule(states=states_firing(61, [(6, 7), (22, 23), (46, 47)]))])
    s = score([(rec, ev)]).summary
    assert s.detection_s == Stat(120.0, 360.0)


def test_quiet_severities_apply_to_incidents_when_listed() -> None:
    """An incident listing quiet_severities fails when an alert of that severity fires."""
    rec = make_recording(quiet=["warning"])
    ev = make_evaluation(
        [make_rule(states=states_firing(61, [(11, 20)])), make_rule("Warn", states=states_firing(61, [(11, 12)]), severity="warning")]
    )
    result = score_recording(rec, ev)
    assert result.windows[0].caught
    assert not result.passed


def test_info_alerts_do_not_dilute_overall_precision() -> None:
    """An always-firing info alert leaves overall precision alone but has its own per-rule precision."""
    rec = make_recording()
    ev = make_evaluation(
        [
            make_rule(states=states_firing(61, [(12, 20)])),
            make_rule("Watchdog", states=states_firing(61, [(0, 60)]), severity="info"),
            make_rule("Blip", states=states_firing(61, [(40, 41)]), severity="info"),
        ]
    )
    scores = score([(rec, ev)])
    assert scores.summary.precision == 1.0 and scores.summary.episodes == 1
    assert {r.alert: r.precision for r in scores.rules}["Blip"] == 0.0
