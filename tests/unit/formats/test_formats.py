"""obsbox.formats: the one reader and writer of durations, times, floats and line-numbered YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obsbox.formats import (
    FormatError,
    LineReader,
    format_duration_ms,
    format_number,
    is_duration,
    load_yaml_with_lines,
    parse_duration,
    parse_duration_ms,
    parse_float,
    write_atomically,
)


@pytest.mark.parametrize(
    ("text", "ms"), [("0", 0), ("30s", 30_000), ("1h30m", 5_400_000), ("1y2w", (365 + 14) * 86_400_000), ("250ms", 250)]
)
def test_durations_read_as_prometheus_reads_them(text: str, ms: int) -> None:
    """Units largest first, each once; a bare 0 is zero; what is written reads back the same."""
    assert parse_duration_ms(text) == ms
    assert parse_duration_ms(format_duration_ms(ms)) == ms


@pytest.mark.parametrize("text", ["5m1h", "1x", "", "1.5h", "-5m", "1h 30m"])
def test_durations_out_of_order_or_misspelt_are_refused(text: str) -> None:
    """What Prometheus' model.ParseDuration refuses is a ValueError here too."""
    assert not is_duration(text)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_ms(text)


def test_whole_second_durations_stay_integers_in_json() -> None:
    """A report writes `900`, not `900.0`, for a 15m expectation; 1500ms stays 1.5."""
    assert json.dumps([parse_duration("15m"), parse_duration("1500ms")]) == "[900, 1.5]"


def test_floats_round_trip_as_go_writes_them() -> None:
    """Integers lose the fraction, infinities carry their sign, YAML spellings read."""
    assert [format_number(v) for v in (3.0, 0.25, float("inf"), float("-inf"))] == ["3", "0.25", "+Inf", "-Inf"]
    assert parse_float("-.Inf") == float("-inf")
    with pytest.raises(ValueError, match="out of range"):
        parse_float("1e999")


def test_yaml_lines_text_scalars_and_dumping_back(tmp_path: Path) -> None:
    """Mappings, lists and scalars carry their line; 0x10 stays text; the result dumps again."""
    path = tmp_path / "f.yaml"
    path.write_text("a:\n  b: 0x10\n  c:\n    - x\n    - {d: null}\n")
    doc = load_yaml_with_lines(path)
    assert (doc.line, doc["a"].line, doc["a"]["b"].line, doc["a"]["c"].line, doc["a"].key_lines["c"]) == (1, 2, 2, 4, 3)
    assert doc["a"]["b"] == "0x10" and doc["a"]["c"][1]["d"] is None
    assert yaml.safe_load(yaml.safe_dump(doc)) == {"a": {"b": "0x10", "c": ["x", {"d": None}]}}


def test_one_error_type_names_file_and_line(tmp_path: Path) -> None:
    """Bad YAML, a repeated key and an unknown key are each one FormatError at their line."""
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\nb: [\n")
    with pytest.raises(FormatError, match=rf"^{path}:3: "):
        load_yaml_with_lines(path)
    path.write_text("a: 1\nb: 2\na: 3\n")
    reader = LineReader(path)
    with pytest.raises(FormatError, match=rf"^{path}:3: top: 'a' given twice"):
        reader.check_keys(load_yaml_with_lines(path), {"a", "b"}, "top")
    path.write_text("a: 1\nzz: 2\n")
    with pytest.raises(FormatError, match=rf"^{path}:2: field zz not found in type T$"):
        reader.check_keys(load_yaml_with_lines(path), {"a"}, "top", go_type="T")
    with pytest.raises(FormatError, match=rf"^{tmp_path / 'none.yaml'}: "):
        load_yaml_with_lines(tmp_path / "none.yaml")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    """A write that fails half-way leaves the old content and no temporary file."""
    target = tmp_path / "out.txt"
    write_atomically(target, "old\n")
    with pytest.raises(TypeError):
        write_atomically(target, None)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
