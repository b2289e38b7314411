"""Loading promtool unit-test files and exporting timelines as promtool notation."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.formats import parse_duration_ms
from obsbox.promtool.export import ExportError, format_values
from obsbox.promtool.testfile import TestFileError, load_test_file
from obsbox.replay.model import stale


def test_load_reads_groups_series_and_assertions(tmp_path: Path) -> None:
    """A test file loads into groups with expanded series, alert and expression tests."""
    path = tmp_path / "t.yml"
    path.write_text(
        "rule_files: [r.yml]\nevaluation_interval: 30s\ntests:\n"
        "  - interval: 15s\n    input_series:\n      - series: 'up{job=\"a\"}'\n        values: 0x10\n"
        "    alert_rule_test:\n      - eval_time: 5m\n        alertname: Down\n        exp_alerts:\n"
        "          - exp_labels: {severity: page}\n"
        "    promql_expr_test:\n      - expr: up\n        eval_time: 1m\n        exp_samples:\n"
        "          - labels: 'up{job=\"a\"}'\n            value: 0\n"
    )
    tf = load_test_file(path)
    group = tf.tests[0]
    assert tf.evaluation_interval_ms == 30_000 and tf.rule_files == [tmp_path / "r.yml"]
    assert group.interval_ms == 15_000 and group.input_series[0].values == [0.0] * 11
    assert group.alert_rule_tests[0].exp_alerts[0].labels == {"severity": "page"}
    assert group.promql_expr_tests[0].exp_samples[0].labels == {"__name__": "up", "job": "a"}


def test_bad_notation_names_file_and_line(tmp_path: Path) -> None:
    """An unreadable series value is refused with the file and the series' line."""
    path = tmp_path / "t.yml"
    path.write_text("tests:\n  - input_series:\n      - series: up\n        values: '1 zz'\n")
    with pytest.raises(TestFileError, match=rf"^{path}:3: "):
        load_test_file(path)


def test_unknown_field_is_refused_like_promtool(tmp_path: Path) -> None:
    """A field promtool does not know is an error (promtool unmarshals strictly)."""
    path = tmp_path / "t.yml"
    path.write_text("rule_files: []\nbogus: 1\n")
    with pytest.raises(TestFileError, match="bogus"):
        load_test_file(path)


def test_duration_syntax() -> None:
    """Prometheus durations combine units from years down to milliseconds."""
    assert parse_duration_ms("1h30m") == 5_400_000 and parse_duration_ms("0") == 0 and parse_duration_ms("1d") == 86_400_000


def test_format_values_compresses_gaps() -> None:
    """Samples on the grid become values with '_' / '_xN' for the gaps, 'stale' for markers."""
    assert format_values([0, 15_000, 75_000, 90_000], [1.0, 0.5, stale(), 2.0], 15_000) == "1 0.5 _x3 stale 2"


def test_format_values_refuses_off_grid_samples() -> None:
    """A sample between grid points cannot be written in promtool's notation."""
    with pytest.raises(ExportError):
        format_values([0, 7_000], [1.0, 2.0], 15_000)


def test_rule_files_globs_are_expanded(tmp_path: Path) -> None:
    """rule_files patterns expand relative to the test file, as promtool globs them."""
    (tmp_path / "a.rules.yml").write_text("groups: []\n")
    (tmp_path / "b.rules.yml").write_text("groups: []\n")
    path = tmp_path / "t.yml"
    path.write_text("rule_files: ['*.rules.yml']\ntests: []\n")
    assert load_test_file(path).rule_files == [tmp_path / "a.rules.yml", tmp_path / "b.rules.yml"]


def test_native_histogram_expectation_is_refused(tmp_path: Path) -> None:
    """An exp_samples entry with promtool 3.x's `histogram:` is refused with its line, not ignored."""
    path = tmp_path / "t.yml"
    path.write_text(
        "tests:\n- interval: 1m\n  promql_expr_test:\n  - expr: h\n    eval_time: 0m\n    exp_samples:\n"
        "    - labels: h\n      histogram: '{{count:1}}'\n"
    )
    with pytest.raises(TestFileError, match=rf"^{path}:7: .*native histograms"):
        load_test_file(path)
