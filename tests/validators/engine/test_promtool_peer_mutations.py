"""Peer suites, whole files: `obsbox promtool-test` and `promtool test rules` give the same verdict
on each file as written and on each file with one expectation changed.

A mutation changes exactly one expectation of a file promtool passes (a sample's value, an
expected alert's label or annotation, an expected alert removed, an alert expected where none
is); promtool must fail the mutated file (else the mutation is not a change of expectation and
is not used) and obsbox must fail it too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from obsbox.promtool.runner import run_test_file
from obsbox.replay.engine import ReplaySession
from tests.engines import PEER_SUITES
from tests.validators.engine.test_promtool_peer_suites import PEER_FILES

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]
# Mutations tried per file: enough to reach alert and expression tests of every suite.
MUTATIONS_PER_FILE = 4


def _key(node: yaml.Node, name: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == name:
                return v
    return None


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _mutations(root: yaml.Node) -> Iterator[tuple[str, Callable[[], None]]]:
    """(description, apply) for single-expectation changes, in file order; apply edits ``root``."""
    for g, group in enumerate(_items(_key(root, "tests"))):
        for t in _items(_key(group, "promql_expr_test")):
            for s in _items(_key(t, "exp_samples")):
                value = _key(s, "value")
                if isinstance(value, yaml.ScalarNode):

                    def bump(value: yaml.ScalarNode = value) -> None:
                        value.value = repr(float(value.value) + 1) if value.value.strip().lower() not in (".nan", "nan") else "1"
                        value.tag, value.style = "tag:yaml.org,2002:float", None

                    yield f"group {g}: exp_samples value {value.value} + 1 (line {value.start_mark.line + 1})", bump
        for t in _items(_key(group, "alert_rule_test")):
            exp = _key(t, "exp_alerts")
            alerts = _items(exp)
            line = t.start_mark.line + 1
            if not alerts:
                def expect_one(t: yaml.Node = t) -> None:
                    assert isinstance(t, yaml.MappingNode)
                    seq = yaml.SequenceNode("tag:yaml.org,2002:seq", [yaml.MappingNode("tag:yaml.org,2002:map", [])])
                    t.value = [(k, v) for k, v in t.value if k.value != "exp_alerts"] + [
                        (yaml.ScalarNode("tag:yaml.org,2002:str", "exp_alerts"), seq)
                    ]

                yield f"group {g}: an alert expected where none is (line {line})", expect_one
                continue

            def drop_first(exp: yaml.Node | None = exp) -> None:
                assert isinstance(exp, yaml.SequenceNode)
                exp.value = exp.value[1:]

            yield f"group {g}: first expected alert removed (line {line})", drop_first
            for field in ("exp_annotations", "exp_labels"):
                mapping = _key(alerts[0], field)
                if isinstance(mapping, yaml.MappingNode) and mapping.value:

                    def change(mapping: yaml.MappingNode = mapping) -> None:
                        mapping.value[0][1].value = str(mapping.value[0][1].value) + " (mutated)"
                        mapping.value[0][1].tag = "tag:yaml.org,2002:str"

                    yield f"group {g}: {field} {mapping.value[0][0].value} changed (line {line})", change


def _mutated_files(path: Path, directory: Path) -> list[tuple[str, Path]]:
    root = yaml.compose(path.read_text(encoding="utf-8"))
    count = sum(1 for _ in _mutations(root))
    # Spread the tries over the file: the first, the last and evenly between.
    picks = sorted({round(k * (count - 1) / max(1, MUTATIONS_PER_FILE - 1)) for k in range(MUTATIONS_PER_FILE)}) if count else []
    out = []
    for n in picks:
        fresh = yaml.compose(path.read_text(encoding="utf-8"))
        description, apply = list(_mutations(fresh))[n]
        apply()
        # Beside the original, so its relative rule_files resolve the same way.
        target = directory / f"{path.stem}-mutation{n}{path.suffix}"
        rule_files = _key(fresh, "rule_files")
        for node in _items(rule_files):
            assert isinstance(node, yaml.ScalarNode)
            node.value, node.style = str(path.parent / node.value), '"'
        target.write_text(yaml.serialize(fresh), encoding="utf-8")
        out.append((description, target))
    return out


@pytest.mark.parametrize("path", PEER_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_verdict_and_mutations_agree_with_promtool(path: Path, tmp_path: Path, promtool_test: Promtool) -> None:
    """The file's pass/fail equals promtool's; each single-expectation mutation promtool fails, obsbox fails too."""
    theirs = promtool_test(path)
    assert theirs.returncode in (0, 1), theirs.stderr
    assert run_test_file(path).passed == (theirs.returncode == 0)
    if theirs.returncode != 0:
        return
    candidates = _mutated_files(path, tmp_path)
    if not candidates:
        return  # the file expects nothing (at-modifier-test.yml only loads its rules)
    tried = 0
    for description, mutated in candidates:
        verdict = promtool_test(mutated)
        assert verdict.returncode in (0, 1), verdict.stderr
        if verdict.returncode == 0:
            continue  # promtool does not see this change (say, a sample at a time no test reads)
        tried += 1
        ours = run_test_file(mutated)
        assert ours.error is None
        assert not ours.passed, f"{description}: promtool fails it, obsbox passes it"
    assert tried, "no mutation of this file changed promtool's verdict"


@pytest.mark.skipif(not (PEER_SUITES / "etcd" / "test.yaml").exists(), reason="the etcd peer suite is not on this machine")
def test_one_prometheus_for_a_file_of_many_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """etcd's test.yaml (7 groups, no absolute times) is evaluated in a single Prometheus session."""
    opened: list[int] = []
    original = ReplaySession.__enter__

    def counting(self: ReplaySession) -> ReplaySession:
        opened.append(len(self.cases))
        return original(self)

    monkeypatch.setattr(ReplaySession, "__enter__", counting)
    result = run_test_file(PEER_SUITES / "etcd" / "test.yaml")
    assert len(result.groups) == 7
    assert opened == [7]
