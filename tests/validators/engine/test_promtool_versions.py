"""promtool verdicts that differ between Prometheus 2.42 and 3.x, each explained: obsbox's
`promtool-test` gives the verdict of the promtool of its engine's release, asserted per version."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.promtool.runner import run_test_file
from tests.engines import PEER_SUITES, Engine

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]

DEFAULT_INTERVAL_TEST = """rule_files: []
evaluation_interval: 30s
tests:
  - input_series:
      - series: x
        values: 1 2 3
    promql_expr_test:
      - expr: count_over_time(x[1h])
        eval_time: 10m
        exp_samples:
          - value: {count}
"""


@pytest.mark.parametrize("count", [1, 3])
def test_group_without_interval(engine: Engine, count: int, tmp_path: Path, promtool_test: Promtool) -> None:
    """A test group without `interval`: promtool 2.42 loads every input sample at t=0 and keeps the
    first (one sample), promtool 3.x spaces them by `evaluation_interval` (three samples)."""
    path = tmp_path / "t.yml"
    path.write_text(DEFAULT_INTERVAL_TEST.format(count=count), encoding="utf-8")
    expected_pass = count == {2: 1, 3: 3}[engine.major]
    assert (promtool_test(path).returncode == 0) == expected_pass
    assert run_test_file(path).passed == expected_pass


# Peer-suite assertions that pass on promtool 2.42 and fail on promtool 3.x, with the reason.
FAILING_ON_3 = {
    ("etcd/test.yaml", 1, "etcdMembersDown", 24 * 60_000): (
        "the last `up` samples are at 19m: at 24m the lookback window [19m, 24m] of 2.x still holds them, "
        "(19m, 24m] of 3.x does not, so the expression is empty and the alert resolved"
    ),
    ("prometheus-v2.42/unittest.yml", 0, "timestamp(test_missing)", 5 * 60_000): (
        "test_missing's one sample is at 0: 2.x's lookback at 5m includes it, 3.x's left-open one does not"
    ),
    ("prometheus-v2.42/unittest.yml", 2, "count_over_time(fixed_data[1h])", 3600_000): (
        "a range [1h] at 1h holds 61 samples (0 to 60m) in 2.x, 60 in 3.x: the one at exactly 0 is outside (0, 1h]"
    ),
    ("prometheus-v2.42/unittest.yml", 4, "job:test:count_over_time1m", 60_000): (
        "the recording rule counts 61 samples in [t-1m, t] on 2.x, 60 in (t-1m, t] on 3.x (1s input interval)"
    ),
    ("prometheus-v2.42/unittest.yml", 4, "job:test:count_over_time1m", 2 * 60_000): (
        "as at 1m: the sample exactly 1 minute old is out of the range on 3.x"
    ),
}


@pytest.mark.skipif(not (PEER_SUITES / "etcd").is_dir(), reason="the shared peer suites are not on this machine")
def test_peer_suite_verdicts_that_differ(engine: Engine) -> None:
    """The peer-suite assertions that fail only on 3.x (left-open range selectors and lookback)
    fail in obsbox exactly on 3.x, and no other assertion fails outside failing.yml."""
    failed = set()
    for name in ("etcd/test.yaml", "prometheus-v2.42/unittest.yml"):
        for group in run_test_file(PEER_SUITES / name).groups:
            failed |= {(name, group.index, f.subject, f.eval_time_ms) for f in group.failures}
    assert failed == (set(FAILING_ON_3) if engine.major >= 3 else set())


FUZZY_TEST = """rule_files: []
fuzzy_compare: {fuzzy}
tests:
  - interval: 1m
    promql_expr_test:
      - expr: 0.1 + 0.2
        eval_time: 0m
        exp_samples:
          - value: 0.3
"""


@pytest.mark.parametrize("fuzzy", ["true", "false"])
def test_fuzzy_compare(engine: Engine, fuzzy: str, tmp_path: Path, promtool_test: Promtool) -> None:
    """`fuzzy_compare: true` (promtool 3.x) lets 0.1 + 0.2 equal 0.3, one ULP apart; promtool 2.42
    does not know the key and refuses the file, and so does obsbox on a 2.42 engine."""
    path = tmp_path / "t.yml"
    path.write_text(FUZZY_TEST.format(fuzzy=fuzzy), encoding="utf-8")
    theirs = promtool_test(path)
    ours = run_test_file(path)
    if engine.major >= 3:
        assert (theirs.returncode == 0) == (fuzzy == "true") == ours.passed
    else:
        assert theirs.returncode == 1 and "field fuzzy_compare not found" in theirs.stdout + theirs.stderr
        assert ours.error is not None and "field fuzzy_compare not found" in ours.error
