"""Recordings -> engine -> scores: what ``obsbox replay`` does between reading its arguments and
printing. The engine owns Prometheus and its temporary data (and cleans them up); this module
validates the rule paths and the manifests first, so that those fail before any process starts.
The data files are read by the engine (the largest only by promtool, unless its accounting shows
bad data; see ``engine.FileCase``); bad data still fails with file and line before any report.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsbox.replay.model import Evaluation
from obsbox.replay.recording import (
    FireExpectation,
    Manifest,
    Recording,
    RecordingError,
    load_manifests,
    read_data,
    resolve_range,
)
from obsbox.replay.scoring import Scores, score
from obsbox.rules.catalog import is_rule_file, rule_files

SCORE_BY = ("name", "severity", "labels")
RULE_SUFFIXES = (".yaml", ".yml")


class ReplayInputError(ValueError):
    """Bad arguments to a replay (a missing rule file, an empty rules directory)."""


@dataclass(frozen=True)
class ReplayReport:
    scores: Scores
    pairs: Sequence[tuple[Recording, Evaluation]]  # each recording with its evaluation

    @property
    def passed(self) -> bool:
        return self.scores.summary.passed


def expand_rule_paths(paths: Sequence[Path | str]) -> list[Path]:
    """Rule files from files and directories: a directory gives its *.rules.yaml files, or, if it
    has none, all its *.yaml files (sorted, not recursive)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)
            # The convention is <area>.rules.yaml; other YAML beside them (SLO specs, say) is not rules.
            conventional = [p for p in found if is_rule_file(p)]
            found = conventional or found
            if not found:
                raise ReplayInputError(f"{path}: no rule files (*.yaml) in this directory")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise ReplayInputError(f"{path}: no such rule file")
    if not out:
        raise ReplayInputError("no rule files given (--rules PATH)")
    return out


def run_replay(
    rule_paths: Sequence[Path | str],
    incidents_dir: Path | str,
    *,
    progress: Callable[..., Any] | None = None,
    score_by: str = "name",
) -> ReplayReport:
    """Replay every recording under ``incidents_dir`` through the rules and score them.

    Raises RecordingError / OpenMetricsError / ReplayInputError / the engine's EngineError, each
    with a one-line message naming the file and line.
    """
    from obsbox.replay import engine  # imported late: the engine pulls in process handling

    if score_by not in SCORE_BY:
        raise ReplayInputError(f"--score-by must be one of {', '.join(SCORE_BY)}, not {score_by!r}")
    rules = expand_rule_paths(rule_paths)
    manifests = load_manifests(incidents_dir)
    if score_by != "name":
        manifests = rescore_manifests(manifests, score_by, rules, Path(incidents_dir))
    # The data files are read by the engine: the largest goes to promtool as it is (millions of
    # samples need never pass through Python), and any bad data still fails with file and line.
    cases = [
        engine.FileCase(m.data_path, functools.partial(read_data, m), functools.partial(resolve_range, m)) for m in manifests
    ]
    evaluations = engine.evaluate_many(rules, cases, progress=progress)
    if len(evaluations) != len(manifests):
        raise RecordingError(incidents_dir, 1, "the engine returned a different number of evaluations")
    # The series stay in the TSDB; scores and reports need the manifests and the replay ranges.
    recordings = [Recording(m, (), e.start_ms, e.end_ms) for m, e in zip(manifests, evaluations)]
    pairs = list(zip(recordings, evaluations))
    scores = dataclasses.replace(score(pairs, data_check=_data_check(rules)), score_by=score_by)
    return ReplayReport(scores, pairs)


def corpus_rule_files(incidents_dir: Path) -> list[Path]:
    """The rule files beside a corpus (``alert_rules/*.rules.yaml`` for ``alert_rules/incidents``):
    the rules its manifests name."""
    parent = incidents_dir.resolve().parent
    return rule_files(parent)


def rescore_manifests(manifests: Sequence[Manifest], score_by: str, rules: Sequence[Path], incidents_dir: Path) -> list[Manifest]:
    """Manifests whose expectations match alerts by severity or by labels instead of by name.

    Incidents name the alerts of the rules they were written for; a rule of one's own never has
    those names. ``severity``: an expectation is met by any alert of the named alert's severity
    (looked up in the replayed rule files, then in the rule files beside the corpus), whatever its
    name and labels. ``labels``: by any alert that notifies someone (not info/none) and carries the
    expectation's labels.
    """
    from obsbox.replay.rules import RuleFileError, load_rule_groups

    severities: dict[str, str] = {}
    if score_by == "severity":
        for files in (corpus_rule_files(incidents_dir), rules):  # the replayed rules win
            try:
                groups = load_rule_groups(files)
            except RuleFileError:
                continue
            for group in groups:
                for rule in group.rules:
                    if rule.alert:
                        severities[rule.alert] = str(rule.labels.get("severity", ""))
    out = []
    for manifest in manifests:
        fire = []
        for e in manifest.fire:
            asked = f"alert {e.alert}" if e.alert else f"severity {e.severity}"
            if e.labels:
                asked += " {" + ", ".join(f"{k}={v}" for k, v in sorted(e.labels.items())) + "}"
            if score_by == "labels":
                fire.append(FireExpectation(e.within_s, labels=dict(e.labels), line=e.line, stands_for=asked))
                continue
            severity = e.severity
            if e.alert is not None:
                if e.alert not in severities:
                    raise ReplayInputError(
                        f"{manifest.path}:{e.line}: --score-by severity: alert {e.alert} is in none of the rule "
                        f"files (the replayed ones, or *.rules.yaml beside {incidents_dir}); add its file with --rules"
                    )
                severity = severities[e.alert]
            stands_for = asked if e.alert is not None or e.labels else None
            fire.append(FireExpectation(e.within_s, severity=severity, line=e.line, stands_for=stands_for))
        out.append(dataclasses.replace(manifest, fire=tuple(fire)))
    return out


def _data_check(rule_files: Sequence[Path]) -> Callable[[Any, Recording], bool | None]:
    """Whether a rule's selectors (through recording rules) match any series of a recording."""
    from obsbox.replay.datacheck import DataCheck
    from obsbox.replay.rules import load_rule_groups

    recorded: dict[str, list[str]] = {}
    for group in load_rule_groups(rule_files):
        for rule in group.rules:
            if rule.record:
                recorded.setdefault(rule.record, []).append(rule.expr)
    check = DataCheck(recorded)
    return lambda rule, recording: check(rule.expr, recording.manifest.data_path)
