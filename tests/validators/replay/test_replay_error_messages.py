"""Error messages of the rule tester as a user meets them (a real `obsbox` process, real promtool):
the line a user should look at, no invented `:1:`, times as times, nothing before the error, and
no number Prometheus would refuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.validators.replay.conftest import FIXTURES


def _obsbox(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "obsbox.cli", *map(str, args)], capture_output=True, text=True, timeout=600, check=False
    )


def _only_error(proc: subprocess.CompletedProcess[str]) -> str:
    """stderr must be the error in one line, with no blank line anywhere; only the engine banner
    (which Prometheus evaluates, and a warning when it is not the deploy's) may come before it."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert proc.stderr.endswith("\n") and all(line.strip() for line in lines), repr(proc.stderr)
    rest = [ln for ln in lines if not ln.startswith(("engine: Prometheus ", "warning: the engine is Prometheus "))]
    assert len(rest) == 1 and lines[-1] == rest[0], repr(proc.stderr)
    return rest[0]


def test_rule_yaml_syntax_error_names_its_own_line(corpus: Path, tmp_path: Path) -> None:
    """A mis-indented key at line 7 is reported at line 7 (promtool's Go YAML says line 1)."""
    rules = tmp_path / "bad.rules.yaml"
    rules.write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n   labels:\n      severity: critical\n"
    )
    line = _only_error(_obsbox("replay", "--rules", rules, "--incidents", corpus))
    assert line.startswith(f"error: {rules}:7: not valid YAML"), line


def test_rule_error_without_a_line_gets_the_line_of_its_value(corpus: Path, tmp_path: Path) -> None:
    """promtool names no line for a bad duration; the error names the line holding it."""
    rules = tmp_path / "bad.rules.yaml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1x\n")
    line = _only_error(_obsbox("replay", "--rules", rules, "--incidents", corpus))
    # promtool 2.42: `not a valid duration string: "1x"`; 3.x: `unknown unit "x" in duration "1x"`.
    assert line.startswith(f"error: {rules}:6: ") and '"1x"' in line, line


def test_missing_files_are_named_without_a_line(corpus: Path, tmp_path: Path) -> None:
    """A missing rule file, corpus or promtool test file is `path: ...`, never `path:1: ...`."""
    missing = tmp_path / "nowhere.yaml"
    assert _only_error(_obsbox("replay", "--rules", missing, "--incidents", corpus)) == f"error: {missing}: no such rule file"
    line = _only_error(_obsbox("replay", "--rules", FIXTURES / "rules", "--incidents", tmp_path / "no-corpus"))
    assert line == f"error: {tmp_path / 'no-corpus'}: no such directory of recordings"
    assert _only_error(_obsbox("promtool-test", missing)) == f"error: {missing}: No such file or directory"


def test_duplicate_sample_names_its_time_in_rfc3339(corpus: Path) -> None:
    """A duplicated sample is reported with its time as RFC 3339, not as 1.79517e+09."""
    data = corpus / "quiet-night.om"
    lines = data.read_text().splitlines(keepends=True)
    lines.insert(4, lines[3])
    data.write_text("".join(lines))
    line = _only_error(_obsbox("replay", "--rules", FIXTURES / "rules", "--incidents", corpus))
    assert line.startswith(f"error: {data}:5: duplicate sample at 2026-11-20T09:00:45Z for "), line
    assert "e+09" not in line


def test_value_out_of_float_range_is_refused(corpus: Path) -> None:
    """A sample value of 1e999 (Prometheus' parser refuses it) is an error, not a silent +Inf."""
    data = corpus / "quiet-night.om"
    lines = data.read_text().splitlines(keepends=True)
    name, _, ts = lines[3].rsplit(" ", 2)
    lines[3] = f"{name} 1e999 {ts}"
    data.write_text("".join(lines))
    line = _only_error(_obsbox("replay", "--rules", FIXTURES / "rules", "--incidents", corpus))
    assert line == f"error: {data}:4: value '1e999' is out of range for a 64-bit float", line


def test_promtool_test_value_out_of_float_range_is_refused(tmp_path: Path) -> None:
    """An input series value of 1e999 in a promtool test file is refused naming its line."""
    rules = tmp_path / "r.rules.yaml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n")
    test = tmp_path / "t.test.yaml"
    test.write_text(f"rule_files: [{rules}]\ntests:\n- interval: 1m\n  input_series:\n  - series: up\n    values: 1 1e999 1\n")
    line = _only_error(_obsbox("promtool-test", test))
    assert line.startswith(f"error: {test}:5:") and "1e999" in line, line


def test_slo_yaml_error_is_one_line_with_its_line(tmp_path: Path) -> None:
    """`obsbox rules render` on broken SLO YAML names file and line in one line."""
    slos = tmp_path / "slos.yaml"
    slos.write_text("period: 30d\nservices:\n  - job: a\n    availability_target: 0.999\n    latency_threshold_seconds: 0.5\n    latency_target: [0.99\n")
    proc = _obsbox("rules", "render", "--slos", slos, "--out", tmp_path / "out.yaml")
    line = _only_error(proc)
    assert line.startswith(f"error: {slos}:6: not valid YAML"), line
