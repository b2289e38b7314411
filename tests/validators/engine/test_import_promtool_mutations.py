"""`obsbox import promtool` keeps what promtool checks: a test file promtool passes replays as
passing after import, and every single-expectation mutation promtool fails replays as failing.

The mutations are those of the peer-suite test (an expected alert removed, one expected where
none is, a label or an annotation changed); expression tests are not carried by recordings and
are named in the import's summary instead, so their mutations are not part of this check.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from obsbox.importers.promtool import import_test_file
from obsbox.replay.runner import run_replay
from obsbox.replay.scoring import Scores
from tests.engines import PEER_SUITES
from tests.validators.engine.test_promtool_peer_mutations import _items, _key, _mutations

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "importers"
SOURCES = [FIXTURES / "volume" / "volume.test.yaml", PEER_SUITES / "thanos" / "tests.yaml"]


def _rule_files(test_file: Path) -> list[Path]:
    doc = yaml.safe_load(test_file.read_text(encoding="utf-8"))
    return [test_file.parent / r for r in doc["rule_files"]]


def _replayed(test_file: Path, rules: list[Path], out: Path) -> Scores:
    summary = import_test_file(test_file, out)
    assert summary.carried_alert_tests == summary.alert_tests
    return run_replay(rules, out).scores


def _alert_mutations(path: Path, directory: Path) -> list[tuple[str, Path]]:
    count = sum(1 for d, _ in _mutations(yaml.compose(path.read_text(encoding="utf-8"))) if "exp_samples" not in d)
    out = []
    for n in range(count):
        root = yaml.compose(path.read_text(encoding="utf-8"))
        description, apply = [m for m in _mutations(root) if "exp_samples" not in m[0]][n]
        apply()
        for node in _items(_key(root, "rule_files")):
            assert isinstance(node, yaml.ScalarNode)
            node.value, node.style = str(path.parent / node.value), '"'
        target = directory / f"mutation{n}" / path.name
        target.parent.mkdir()
        target.write_text(yaml.serialize(root), encoding="utf-8")
        out.append((description, target))
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_import_keeps_promtools_verdicts(path: Path, tmp_path: Path, promtool_test: Promtool) -> None:
    """Passing as written; each alert-test mutation that promtool fails also fails after import and replay."""
    if not path.exists():
        pytest.skip(f"{path} is not on this machine (peer suites live outside the repository)")
    assert promtool_test(path).returncode == 0
    rules = _rule_files(path)
    scores = _replayed(path, rules, tmp_path / "original")
    assert scores.summary.passed, scores.summary.failures
    failed_by_promtool = 0
    for description, mutated in _alert_mutations(path, tmp_path):
        if promtool_test(mutated).returncode == 0:
            continue
        failed_by_promtool += 1
        mutated_scores = _replayed(mutated, rules, mutated.parent / "recordings")
        assert not mutated_scores.summary.passed, f"{description}: promtool fails it, the imported recordings pass"
    assert failed_by_promtool >= 4


def test_kubernetes_mixin_excerpt_is_carried_whole(tmp_path: Path) -> None:
    """Every alert test of the kubernetes-mixin excerpt is carried (silence, last sample, after it);
    each expression test is named once; every data file written is used by a manifest."""
    source = FIXTURES / "kubernetes-mixin" / "tests.yaml"
    summary = import_test_file(source, tmp_path)
    assert (summary.alert_tests, summary.carried_alert_tests, summary.silent_tests) == (11, 11, 8)
    assert summary.incidents == 2  # at 15m and 61m (the last samples); the 4m check lies after the data
    assert len([n for n in summary.not_carried if "promql_expr_test" in n]) == 4
    used = {yaml.safe_load(m.read_text(encoding="utf-8")).get("data") for m in summary.manifests}
    assert {p.name for p in tmp_path.glob("*.om")} == used
    checks = [c for m in summary.manifests for c in yaml.safe_load(m.read_text(encoding="utf-8"))["expect"]["alerts_at"]]
    assert len(checks) == 11
    assert sum(1 for c in checks if c["alerts"] and c["alerts"][0]["annotations"]) == 3
