"""The JSON report: valid against its JSON Schema, nulls for empty denominators, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from replay_builders import make_evaluation, make_recording, make_rule, states_firing

from obsbox.formats import write_atomically
from obsbox.replay.report_json import SCHEMA_PATH, render_json, to_document
from obsbox.replay.scoring import score


def _scores():  # type: ignore[no-untyped-def]
    incident = make_recording("spike")
    noise = make_recording("calm", kind="noise", windows=[])
    return score(
        [
            (incident, make_evaluation([make_rule(states=states_firing(61, [(12, 22), (50, 51)]))])),
            (noise, make_evaluation([make_rule(states=states_firing(61, [(3, 4)]))])),
        ]
    )


def test_report_validates_against_schema() -> None:
    """A report with incidents, noise and episodes validates against report.schema.json."""
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(render_json(_scores())), schema)


def test_schema_rejects_a_report_missing_summary_recall() -> None:
    """The schema is strict enough to catch a report without summary.recall."""
    document = to_document(_scores())
    del document["summary"]["recall"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))


def test_summary_numbers_match_scores() -> None:
    """Summary fields carry the scored numbers: 3 episodes, 1 relevant, 1 noise page, all caught."""
    summary = to_document(_scores())["summary"]
    assert summary["recall"] == 1.0
    assert summary["precision"] == pytest.approx(1 / 3)
    assert summary["noise_pages"] == 1
    assert summary["missed"] == 0
    assert summary["passed"] is False


def test_empty_denominators_are_null() -> None:
    """With nothing firing and no windows, ratios and durations are JSON null."""
    scores = score([(make_recording("calm", kind="noise", windows=[]), make_evaluation([make_rule(states=[])]))])
    document = json.loads(render_json(scores))
    assert document["summary"]["recall"] is None
    assert document["summary"]["precision"] is None
    assert document["rules"][0]["detection_time_s"] == {"median": None, "max": None}


def test_write_atomically_leaves_old_file_when_writing_fails(tmp_path: Path) -> None:
    """If writing fails midway the previous report stays intact and no temp file is left."""
    target = tmp_path / "report.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        write_atomically(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
