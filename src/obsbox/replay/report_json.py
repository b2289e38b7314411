"""The replay report as JSON (schema: report.schema.json beside this file), written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from obsbox.formats import format_time
from obsbox.replay.engine_info import EngineInfo
from obsbox.replay.scoring import Episode, RecordingResult, RuleScore, Scores, Stat, WindowResult

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def attrs(obj: object, *names: str) -> dict[str, Any]:
    """The named attributes of ``obj`` as JSON fields of the same names, in that order."""
    return {name: getattr(obj, name) for name in names}


def _stat(stat: Stat) -> dict[str, float | None]:
    return {"median": stat.median, "max": stat.max}


def _rule(rule: RuleScore) -> dict[str, Any]:
    return {
        **attrs(rule, "alert", "group"),
        "file": rule.source_file,
        **attrs(rule, "severity", "windows", "caught", "recall", "precision"),
        "detection_time_s": _stat(rule.detection_s),
        "reset_time_s": _stat(rule.reset_s),
        **attrs(rule, "episodes", "relevant_episodes", "noise_episodes", "no_data_windows", "has_data"),
    }


def _window(w: WindowResult) -> dict[str, Any]:
    return {
        "start": format_time(w.window.start_ms),
        "end": format_time(w.window.end_ms),
        "caught": w.caught,
        "detection_time_s": w.detection_s,
        "reset_time_s": w.reset_s,
        "expectations": [
            {
                "alert": r.expectation.alert,
                "severity": r.expectation.severity,
                "labels": dict(r.expectation.labels),
                "within_s": r.expectation.within_s,
                "met": r.met,
                "detection_time_s": r.detection_s,
            }
            for r in w.expectations
        ],
    }


def _episode(e: Episode) -> dict[str, Any]:
    return {
        "alert": e.alertname,
        "severity": e.severity,
        "labels": dict(sorted(e.labels.items())),
        "start": format_time(e.start_ms),
        "end": format_time(e.end_ms),
        "relevant": e.relevant,
    }


def _recording(r: RecordingResult) -> dict[str, Any]:
    return {
        **attrs(r, "name", "kind", "source", "description"),
        "start": format_time(r.start_ms),
        "end": format_time(r.end_ms),
        "passed": r.passed,
        "windows": [_window(w) for w in r.windows],
        "episodes": [_episode(e) for e in r.episodes],
        "failures": list(r.violations),
    }


def to_document(scores: Scores, engine: EngineInfo | None = None) -> dict[str, Any]:
    """The JSON document of a replay: the engine, summary, per-rule scores, per-recording results."""
    s = scores.summary
    return {
        "schema_version": SCHEMA_VERSION,
        "engine": engine.as_dict() if engine is not None else None,
        "summary": {
            **attrs(s, "recall", "precision", "noise_pages", "missed", "windows", "caught", "episodes", "relevant_episodes"),
            "detection_time_s": _stat(s.detection_s),
            "reset_time_s": _stat(s.reset_s),
            "recordings": s.recordings,
            "passed": s.passed,
            "failures": list(s.failures),
            "quiet_violations": [
                {"alert": q.alert, "severity": q.severity, "episodes": q.episodes, "recordings": list(q.recordings)}
                for q in s.quiet
            ],
            "score_by": getattr(scores, "score_by", "name"),
        },
        "rules": [_rule(r) for r in scores.rules],
        "recordings": [_recording(r) for r in scores.recordings],
    }


def render_json(scores: Scores, engine: EngineInfo | None = None) -> str:
    return json.dumps(to_document(scores, engine), indent=2, allow_nan=False) + "\n"
