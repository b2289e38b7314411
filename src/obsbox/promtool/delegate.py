"""Handing one test group to the real promtool, for what obsbox's engine cannot evaluate itself.

obsbox renders a subset of Prometheus' Go alert templates (``replay/templates.py``); a group
whose annotations or labels use more (``with``, ``if``, ``range``, ``humanizeTimestamp``, ...)
is written as a test file holding just that group and given to ``promtool test rules`` of the
engine's own release, whose verdict is reported (docs/promtool.md). The group is copied as YAML
nodes, so every scalar reaches promtool exactly as written (``0x10`` stays a string, ``1e3``
stays a number).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from obsbox.replay.prometheus import find_binary

# A group's promtool run: far longer than any test group takes, short enough to end a hang.
PROMTOOL_TIMEOUT_S = 300


@dataclass(frozen=True)
class Verdict:
    """promtool's answer for one group: passed, or the lines it printed about the failure."""

    passed: bool
    lines: tuple[str, ...]
    promtool: str


class CannotDelegate(RuntimeError):
    """promtool could not give a verdict (absent, crashed, timed out)."""


def _str(value: str) -> yaml.ScalarNode:
    return yaml.ScalarNode("tag:yaml.org,2002:str", value, style='"')


def single_group_document(path: Path, index: int) -> str:
    """The test file ``path`` cut down to its test group ``index``, with rule_files absolute."""
    with open(path, encoding="utf-8") as handle:
        root = yaml.compose(handle)
    if not isinstance(root, yaml.MappingNode):
        raise ValueError(f"{path}: not a mapping")
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name == "tests" and isinstance(value, yaml.SequenceNode):
            value = yaml.SequenceNode("tag:yaml.org,2002:seq", [value.value[index]])
        elif name == "rule_files" and isinstance(value, yaml.SequenceNode):
            # promtool joins relative rule files (and globs) to the test file's directory.
            base = path.resolve().parent
            value = yaml.SequenceNode(
                "tag:yaml.org,2002:seq",
                [_str(str(base / str(n.value))) if isinstance(n, yaml.ScalarNode) else n for n in value.value],
            )
        pairs.append((key, value))
    return str(yaml.serialize(yaml.MappingNode("tag:yaml.org,2002:map", pairs)))


def promtool_verdict(path: Path, index: int) -> Verdict:
    """Run ``promtool test rules`` on test group ``index`` of ``path`` alone."""
    promtool = find_binary("promtool")
    if promtool is None:
        raise CannotDelegate("no promtool binary found to evaluate it")
    document = single_group_document(path, index)
    with tempfile.TemporaryDirectory(prefix="obsbox-promtool-") as tmp:
        single = Path(tmp) / f"{path.stem}-group{index + 1}.yml"
        single.write_text(document, encoding="utf-8")
        try:
            proc = subprocess.run(
                [promtool, "test", "rules", str(single)],
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT_S,
                check=False,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise CannotDelegate(f"{promtool} test rules did not finish within {PROMTOOL_TIMEOUT_S}s") from None
        except OSError as exc:
            raise CannotDelegate(f"cannot run {promtool}: {exc.strerror or exc}") from None
    output = (proc.stdout + "\n" + proc.stderr).replace(str(single), f"{path} (group {index + 1})")
    lines = tuple(ln.rstrip() for ln in output.splitlines() if ln.strip() and not ln.startswith("Unit Testing:"))
    if proc.returncode == 0:
        return Verdict(True, lines, promtool)
    if proc.returncode == 1 and any("FAILED" in ln for ln in lines):
        return Verdict(False, lines, promtool)
    tail = "; ".join(lines[-3:]) or "no output"
    raise CannotDelegate(f"{promtool} test rules exited {proc.returncode} without a verdict: {tail}")
