"""The shipped rule files and what every alert in them must carry (docs/architecture.md, Conventions)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# What a rule file's name ends with: the rule tester, the shipped catalog, the files the deploy
# ships and the rule_files globs of the prometheus.yml it renders all use this one list.
RULE_FILE_SUFFIXES = (".rules.yaml", ".rules.yml")
SEVERITIES = ("critical", "warning", "info")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
RUNBOOK_URL_PREFIX = "https://github.com/obsbox/obsbox/blob/main/"
_CAMEL = re.compile(r"^[A-Z][a-zA-Z0-9]+$")


@dataclass(frozen=True)
class AlertDefinition:
    file: Path
    group: str
    index: int  # position in the group, for error messages
    rule: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.rule["alert"])

    @property
    def where(self) -> str:
        return f"{self.file}: group {self.group!r}, rule {self.index} ({self.name})"


def is_rule_file(path: Path) -> bool:
    """Whether the name follows the `<area>.rules.yaml` (or .yml) convention."""
    return path.name.endswith(RULE_FILE_SUFFIXES)


def rule_files(rules_dir: Path) -> list[Path]:
    """Every `<area>.rules.yaml` (or .yml) file directly in rules_dir, sorted; none when it is no directory."""
    if not rules_dir.is_dir():
        return []
    return sorted(p for p in rules_dir.iterdir() if p.is_file() and is_rule_file(p))


def iter_alerts(path: Path) -> Iterator[AlertDefinition]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in data.get("groups", []):
        for index, rule in enumerate(group.get("rules", [])):
            if "alert" in rule:
                yield AlertDefinition(path, str(group.get("name")), index, rule)


def runbook_path(url: str, repo_root: Path) -> Path | None:
    """The repository file a runbook URL points at, or None when it points outside the repo."""
    if not url.startswith(RUNBOOK_URL_PREFIX):
        return None
    return repo_root / url[len(RUNBOOK_URL_PREFIX) :].split("#", 1)[0]


def convention_problems(alert: AlertDefinition, repo_root: Path) -> list[str]:
    """Each way this alert breaks the conventions, as a message naming file, group and rule."""
    problems = []
    if not _CAMEL.match(alert.name):
        problems.append(f"{alert.where}: alert name is not CamelCase")
    severity = (alert.rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"{alert.where}: labels.severity {severity!r} is not one of {SEVERITIES}")
    annotations = alert.rule.get("annotations") or {}
    for name in REQUIRED_ANNOTATIONS:
        if not str(annotations.get(name, "")).strip():
            problems.append(f"{alert.where}: annotations.{name} is missing")
    url = annotations.get("runbook_url")
    if url:
        target = runbook_path(str(url), repo_root)
        if target is None:
            problems.append(
                f"{alert.where}: annotations.runbook_url {url!r} does not start with {RUNBOOK_URL_PREFIX}"
            )
        elif not target.is_file():
            problems.append(
                f"{alert.where}: annotations.runbook_url points at {target}, which does not exist"
            )
        elif "what to check first" not in target.read_text(encoding="utf-8").lower():
            problems.append(f"{alert.where}: runbook {target} has no 'What to check first' section")
    return problems
