"""Recordings -> engine -> scores: what ``obsbox replay`` does between reading its arguments and
printing. The engine owns Prometheus and its temporary data (and cleans them up); this module
validates the rule paths and the manifests first, so that those fail before any process starts.
The data files are read by the engine (the largest only by promtool, unless its accounting shows
bad data; see ``engine.FileCase``); bad data still fails with file and line before any report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsbox.replay.model import Evaluation
from obsbox.replay.recording import Recording, RecordingError, load_manifests, read_data, resolve_range
from obsbox.replay.scoring import Scores, score

RULE_SUFFIXES = (".yaml", ".yml")
RULE_FILE_ENDINGS = (".rules.yaml", ".rules.yml")


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
            conventional = [p for p in found if p.name.endswith(RULE_FILE_ENDINGS)]
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
) -> ReplayReport:
    """Replay every recording under ``incidents_dir`` through the rules and score them.

    Raises RecordingError / OpenMetricsError / ReplayInputError / the engine's EngineError, each
    with a one-line message naming the file and line.
    """
    from obsbox.replay import engine  # imported late: the engine pulls in process handling

    rules = expand_rule_paths(rule_paths)
    manifests = load_manifests(incidents_dir)
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
    return ReplayReport(score(pairs), pairs)
