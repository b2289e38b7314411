"""Every peer-suite file through `obsbox promtool-test` agrees with `promtool test rules`, group by group."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.formats import load_yaml_with_lines, parse_duration_ms, parse_float
from obsbox.promtool.runner import run_test_file
from tests.engines import PEER_SUITES, Engine

Promtool = Callable[[Path], subprocess.CompletedProcess[str]]


def _peer_files() -> list[Path]:
    if not PEER_SUITES.is_dir():
        return []
    return sorted(
        p for p in PEER_SUITES.rglob("*.y*ml") if any(ln.startswith("tests:") for ln in p.read_text(encoding="utf-8").splitlines())
    )


PEER_FILES = _peer_files()
# obsbox's own promtool files for features the peer suites do not reach (keep_firing_for,
# external labels/URL in templates, ALERTS_FOR_STATE, group_eval_order, staleness with absent).
COMPAT_FILES = sorted((Path(__file__).parent / "compat").glob("*-test.yml"))
_ALERT_FAILURE = re.compile(r"alertname: (\S+), time: (\S+?),")
_EXPR_FAILURE = re.compile(r'expr: "((?:[^"\\]|\\.)*)", time: (\S+?),')


def promtool_failures(stderr: str) -> set[tuple[str, str, int]]:
    """(kind, alertname or expression, eval time) of every assertion promtool reports as failed."""
    found = {("alert", m.group(1), parse_duration_ms(m.group(2))) for m in _ALERT_FAILURE.finditer(stderr)}
    found |= {("expr", m.group(1).replace('\\"', '"'), parse_duration_ms(m.group(2))) for m in _EXPR_FAILURE.finditer(stderr)}
    return found


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def split_groups(path: Path, directory: Path) -> list[Path]:
    """One promtool test file per test group of ``path`` (scalars kept as promtool reads them)."""
    doc = _plain(load_yaml_with_lines(path))
    files = []
    for index, group in enumerate(doc.get("tests") or []):
        for expr_test in group.get("promql_expr_test") or []:
            for sample in expr_test.get("exp_samples") or []:
                if "value" in sample:
                    sample["value"] = parse_float(sample["value"])  # the one float field of the format
        single = {k: v for k, v in doc.items() if k != "tests"}
        single["rule_files"] = [str((path.parent / r).resolve()) for r in doc.get("rule_files") or []]
        single["tests"] = [group]
        out = directory / f"{path.stem}-group{index}.yml"
        out.write_text(yaml.safe_dump(single, sort_keys=False), encoding="utf-8")
        files.append(out)
    return files


@pytest.mark.parametrize("path", PEER_FILES + COMPAT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_obsbox_agrees_with_promtool_per_group(path: Path, tmp_path: Path, promtool_test: Promtool) -> None:
    """For each test group, obsbox and promtool give the same pass/fail and fail the same assertions."""
    ours = run_test_file(path)
    assert ours.error is None
    for group, single in zip(ours.groups, split_groups(path, tmp_path), strict=True):
        theirs = promtool_test(single)
        assert theirs.returncode in (0, 1), theirs.stderr
        assert group.passed == (theirs.returncode == 0), f"group {group.index}: {[f.message for f in group.failures]} vs {theirs.stderr}"
        assert {(f.kind, f.subject, f.eval_time_ms) for f in group.failures} == promtool_failures(theirs.stderr)


@pytest.mark.skipif(not (PEER_SUITES / "prometheus-v2.42" / "failing.yml").exists(), reason="peer suites absent")
def test_failing_file_fails_exactly_where_promtool_fails(promtool_test: Promtool) -> None:
    """failing.yml fails in obsbox at the same four assertions as in promtool (whole file run)."""
    path = PEER_SUITES / "prometheus-v2.42" / "failing.yml"
    theirs = promtool_failures(promtool_test(path).stderr)
    ours = run_test_file(path)
    assert len(theirs) == 4
    assert {(f.kind, f.subject, f.eval_time_ms) for g in ours.groups for f in g.failures} == theirs


@pytest.mark.skipif(not PEER_FILES, reason="shared/peer-suites is not on this machine")
def test_cli_exit_status_matches_promtool(promtool_test: Promtool, engine: Engine) -> None:
    """`obsbox promtool-test --prometheus X` exits 0 exactly where X's promtool does, over every peer-suite file."""
    runner = CliRunner()
    for path in PEER_FILES + COMPAT_FILES:
        result = runner.invoke(app, ["promtool-test", "--prometheus", engine.prometheus, str(path)])
        assert (result.exit_code == 0) == (promtool_test(path).returncode == 0), result.output
