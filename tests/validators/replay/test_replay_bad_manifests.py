"""Each kind of bad recording is refused with one error naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.replay.openmetrics import OpenMetricsError
from obsbox.replay.recording import RecordingError, load_corpus, load_recording

T0 = 1_795_000_000
GOOD_OM = "".join(f"up{{job=\"demo\"}} 1 {T0 + i * 15}\n" for i in range(241)) + "# EOF\n"

HEAD = "name: rec\nkind: incident\ndescription: d\nsource: generated\n"
WINDOW = f"windows:\n  - start: {T0 + 600}\n    end: {T0 + 1200}\n"
EXPECT = "expect:\n  fire:\n    - alert: A\n      within: 5m\n"

CASES = {
    "unknown top-level key": (HEAD + "colour: blue\n" + WINDOW + EXPECT, 5, "unknown key 'colour'"),
    "unknown window key": (
        HEAD + f"windows:\n  - start: {T0 + 600}\n    end: {T0 + 1200}\n    why: x\n" + EXPECT,
        8,
        "unknown key 'why'",
    ),
    "unknown expectation key": (HEAD + WINDOW + EXPECT + "      when: now\n", 12, "unknown key 'when'"),
    "name differs from file stem": (HEAD.replace("name: rec", "name: other") + WINDOW + EXPECT, 1, "file stem"),
    "missing description": (HEAD.replace("description: d\n", "") + WINDOW + EXPECT, 1, "'description'"),
    "bad kind": (HEAD.replace("kind: incident", "kind: outage") + WINDOW + EXPECT, 2, "incident, noise"),
    "bad source": (HEAD.replace("source: generated", "source: guessed") + WINDOW + EXPECT, 4, "recorded, generated"),
    "window end before start": (
        HEAD + f"windows:\n  - start: {T0 + 1200}\n    end: {T0 + 600}\n" + EXPECT,
        7,
        "not after start",
    ),
    "replay start after end": (HEAD + f"start: {T0 + 900}\nend: {T0 + 300}\n" + WINDOW + EXPECT, 6, "not after start"),
    "window outside the data": (
        HEAD + f"windows:\n  - start: {T0 + 3000}\n    end: {T0 + 7200}\n" + EXPECT,
        6,
        "outside the data",
    ),
    "window outside the replay range": (HEAD + f"end: {T0 + 900}\n" + WINDOW + EXPECT, 7, "outside the data"),
    "incident without windows": (HEAD + EXPECT, 1, "at least one impact window"),
    "noise with windows": (HEAD.replace("incident", "noise") + WINDOW, 5, "no impact windows"),
    "incident without expectations": (HEAD + WINDOW, 1, "expect.fire"),
    "bad duration": (HEAD + WINDOW + EXPECT.replace("5m", "five minutes"), 11, "not a duration"),
    "alert and severity both": (HEAD + WINDOW + EXPECT + "      severity: critical\n", 10, "exactly one of"),
    "bad time": (HEAD + "windows:\n  - start: yesterday\n    end: 1\n" + EXPECT, 6, "not an RFC 3339 time"),
    "time without zone": (HEAD + "windows:\n  - start: 2026-11-20T10:00:00\n    end: 1\n" + EXPECT, 6, "no time zone"),
    "missing data file": (HEAD + "data: nowhere.om\n" + WINDOW + EXPECT, 5, "does not exist"),
    "not yaml": (HEAD + "windows: [\n", 6, "not valid YAML"),
    "not a mapping": ("- just\n- a list\n", 1, "must be a mapping"),
    "empty manifest": ("", 1, "empty"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_manifest_error_names_file_and_line(tmp_path: Path, case: str) -> None:
    """A bad manifest raises one RecordingError whose message starts with file:line."""
    text, line, fragment = CASES[case]
    (tmp_path / "rec.om").write_text(GOOD_OM)
    manifest = tmp_path / "rec.yaml"
    manifest.write_text(text)
    with pytest.raises(RecordingError) as info:
        load_recording(manifest)
    message = str(info.value)
    assert message.startswith(f"{manifest}:{line}: "), message
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (f"up 1 {T0 + 15}\nup 2 {T0}\n# EOF\n", 2, "before the previous"),
        (f"up 1 {T0}\nup 2 {T0}\n# EOF\n", 2, "duplicate sample"),
        (f"up 1 {T0 * 1000}\n# EOF\n", 1, "milliseconds"),
        ("# EOF\n", 1, "no samples"),
        (f"up 1 {T0}\n", 1, "missing '# EOF'"),
    ],
    ids=["unsorted", "duplicate", "milliseconds", "empty", "no-eof"],
)
def test_bad_data_error_names_data_file_and_line(tmp_path: Path, data: str, line: int, fragment: str) -> None:
    """Unsorted, duplicate, millisecond, empty or unterminated data names the .om file and line."""
    (tmp_path / "rec.om").write_text(data)
    (tmp_path / "rec.yaml").write_text(HEAD.replace("incident", "noise"))
    with pytest.raises(OpenMetricsError) as info:
        load_recording(tmp_path / "rec.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'rec.om'}:{line}: ")
    assert fragment in str(info.value)


def test_duplicate_recording_names_are_refused(tmp_path: Path) -> None:
    """Two manifests with the same name in one corpus are refused at the second one."""
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "rec.om").write_text(GOOD_OM)
        (tmp_path / sub / "rec.yaml").write_text(HEAD + WINDOW + EXPECT)
    with pytest.raises(RecordingError, match=r"b/rec\.yaml:1: name 'rec' is also used by"):
        load_corpus(tmp_path)


def test_empty_corpus_directory_is_refused(tmp_path: Path) -> None:
    """A directory without manifests is an error, not a vacuous pass."""
    with pytest.raises(RecordingError, match="no recordings"):
        load_corpus(tmp_path)
