"""Rule files: checked by promtool, loaded with line numbers, ordered by what depends on what.

Recording rules whose output other rules read must be evaluated (and written back to the TSDB)
before those rules; ``layers`` orders the rules so each layer only reads earlier layers.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsbox.formats import FormatError, load_yaml_with_lines, parse_duration_ms, yaml_error
from obsbox.promql import references
from obsbox.replay.prometheus import find_binary

DEFAULT_INTERVAL_MS = 60_000


class RuleFileError(ValueError):
    """A rule file promtool refuses, or that cannot be read; the message names file and line."""


@dataclass(frozen=True)
class Rule:
    group: str
    index: int  # position within its group
    expr: str
    source_file: str
    line: int
    record: str | None = None
    alert: str | None = None
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.record or self.alert or ""

    @property
    def location(self) -> str:
        return f"{self.source_file}:{self.line}"


@dataclass(frozen=True)
class RuleGroup:
    name: str
    interval_ms: int
    source_file: str
    line: int
    rules: list[Rule]


def check_rules(rule_files: Sequence[Path]) -> None:
    """Run ``promtool check rules``; raise RuleFileError with its first complaint as file:line."""
    promtool = find_binary("promtool")
    if promtool is None:
        raise RuleFileError("no promtool binary found (install Debian's prometheus package)")
    for path in rule_files:
        if not Path(path).is_file():
            raise RuleFileError(f"{path}: no such rule file")
    proc = subprocess.run(
        [promtool, "check", "rules", *map(str, rule_files)], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise RuleFileError(with_true_line(first_promtool_error(proc.stdout + "\n" + proc.stderr), rule_files))


_GO_YAML_SYNTAX = re.compile(r"^(?P<file>.+?):(?P<line>\d+): yaml: line \d+: (?P<msg>.*)$")
_QUOTED = re.compile(r'"([^"]+)"')


def with_true_line(message: str, rule_files: Sequence[Path]) -> str:
    """promtool's first complaint with the line a user should look at.

    Go's YAML parser reports a syntax error at the line where the enclosing block starts (an
    indentation slip at line 7 is "line 1"); PyYAML's mark is the line of the problem itself.
    Some complaints carry no line at all (``not a valid duration string: "1x"``): when the quoted
    value occurs on exactly one line of the file, that line is named.
    """
    files = {str(p): Path(p) for p in rule_files}
    syntax = _GO_YAML_SYNTAX.match(message)
    if syntax and syntax["file"] in files:
        try:
            text = files[syntax["file"]].read_text(encoding="utf-8")
            yaml.compose(text)
        except yaml.MarkedYAMLError as exc:
            return yaml_error(syntax["file"], exc, text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            pass
        return message
    for name, path in files.items():
        prefix = f"{name}: "
        if not message.startswith(prefix):  # "file:12: ..." already has its line
            continue
        quoted = _QUOTED.findall(message)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return message
        for value in quoted:
            hits = [i for i, text in enumerate(lines, start=1) if value in text]
            if len(hits) == 1:
                return f"{name}:{hits[0]}: {message[len(prefix):]}"
        return message
    return message


_POSITIONED = re.compile(r"^(?P<file>.+?): (?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$")
_YAML_LINE = re.compile(r"^(?P<file>.+?): (?P<msg>.*?line (?P<line>\d+).*)$")


def first_promtool_error(output: str) -> str:
    """``file:line: message`` from promtool check rules' output (its first error)."""
    lines = [ln.strip() for ln in output.splitlines()]
    for i, ln in enumerate(lines):
        if ln.startswith("FAILED:") and i + 1 < len(lines):
            detail = lines[i + 1]
            # The unmarshal error names the line on the next line of output.
            if detail.endswith("unmarshal errors:") and i + 2 < len(lines):
                detail = detail[: -len("unmarshal errors:")] + lines[i + 2]
            match = _POSITIONED.match(detail)
            if match:
                return f"{match['file']}:{match['line']}: {match['msg']}"
            match = _YAML_LINE.match(detail)
            if match:
                return f"{match['file']}:{match['line']}: {match['msg']}"
            return detail
    return " ".join(ln for ln in lines if ln)[:300] or "promtool check rules failed"


def _mapping(node: Any, path: Path, line: int, what: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise RuleFileError(f"{path}:{line}: {what} must be a mapping")
    return node


def _duration(node: dict[str, Any], key: str, path: Path, line: int) -> int:
    if node.get(key) is None:
        return 0
    try:
        return parse_duration_ms(node[key])
    except ValueError as exc:
        raise RuleFileError(f"{path}:{line}: {key}: {exc}") from None


def load_rule_groups(rule_files: Sequence[Path]) -> list[RuleGroup]:
    """Every group of every file, in file order (promtool has checked them already)."""
    groups: list[RuleGroup] = []
    for path in map(Path, rule_files):
        try:
            doc = load_yaml_with_lines(path)
        except FormatError as exc:
            raise RuleFileError(str(exc)) from None
        if doc is None:
            continue
        top = _mapping(doc, path, 1, "a rule file")
        for raw_group in top.get("groups") or []:
            g = _mapping(raw_group, path, getattr(top, "line", 1), "a rule group")
            gline = int(getattr(g, "line", 1))
            name = str(g.get("name", ""))
            rules = []
            for index, raw_rule in enumerate(g.get("rules") or []):
                r = _mapping(raw_rule, path, gline, "a rule")
                rline = int(getattr(r, "line", gline))
                rules.append(
                    Rule(
                        group=name,
                        index=index,
                        expr=str(r.get("expr", "")),
                        source_file=str(path),
                        line=rline,
                        record=str(r["record"]) if r.get("record") else None,
                        alert=str(r["alert"]) if r.get("alert") else None,
                        for_ms=_duration(r, "for", path, rline),
                        keep_firing_for_ms=_duration(r, "keep_firing_for", path, rline),
                        labels={str(k): "" if v is None else str(v) for k, v in (r.get("labels") or {}).items()},
                        annotations={str(k): "" if v is None else str(v) for k, v in (r.get("annotations") or {}).items()},
                    )
                )
            interval = _duration(g, "interval", path, gline) or DEFAULT_INTERVAL_MS
            groups.append(RuleGroup(name, interval, str(path), gline, rules))
    return groups


def order_groups(groups: list[RuleGroup], group_eval_order: Sequence[str]) -> list[RuleGroup]:
    """Groups in promtool's group_eval_order (named groups first, in that order, then the rest)."""
    if not group_eval_order:
        return groups
    rank = {name: i for i, name in enumerate(group_eval_order)}
    return sorted(groups, key=lambda g: rank.get(g.name, len(rank)))


def layers(rules: Sequence[Rule]) -> list[list[Rule]]:
    """Rules split into layers: a rule reading a recorded series (or ALERTS) comes after its producers.

    A reference cycle cannot be ordered; its rules share the layer where the cycle closes, and read
    each other's output only from earlier evaluations, as they do in Prometheus when the reader
    comes first in its group.
    """
    producers: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        if rule.record:
            producers.setdefault(rule.record, []).append(i)
        if rule.alert:
            producers.setdefault("ALERTS", []).append(i)
            producers.setdefault("ALERTS_FOR_STATE", []).append(i)
    deps = [
        sorted({p for name, ps in producers.items() if references(rule.expr, name) for p in ps if p != i})
        for i, rule in enumerate(rules)
    ]
    level: dict[int, int] = {}
    visiting: set[int] = set()

    def depth(i: int) -> int:
        if i in level:
            return level[i]
        if i in visiting:
            return 0
        visiting.add(i)
        d = 0
        for p in deps[i]:
            if p not in visiting:
                d = max(d, depth(p) + 1)
        visiting.discard(i)
        level[i] = d
        return d

    for i in range(len(rules)):
        depth(i)
    out: list[list[Rule]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for i, rule in enumerate(rules):
        out[level[i]].append(rule)
    return out
