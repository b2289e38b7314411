"""Importers: NAB CSV + labelled windows, and promtool test files, as valid recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsbox.importers.nab import NabOptions, import_nab_file, read_nab_csv
from obsbox.importers.promtool import import_test_file
from obsbox.replay.recording import RecordingError, load_recording, parse_time_ms

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"


def _nab(tmp_path: Path, rows: int = 100, windows: object = None) -> tuple[Path, Path]:
    csv = tmp_path / "machine_temp.csv"
    csv.write_text("timestamp,value\n" + "".join(f"2014-01-01 {i // 12:02d}:{i % 12 * 5:02d}:00,{i * 0.5}\n" for i in range(rows)))
    labels = tmp_path / "windows.json"
    if windows is None:
        windows = [["2014-01-01 02:00:00.000000", "2014-01-01 03:00:00.000000"]]
    labels.write_text(json.dumps({"realKnownCause/machine_temp.csv": windows}, indent=2))
    return csv, labels


def test_nab_import_writes_a_recording_that_loads(tmp_path: Path) -> None:
    """A NAB file with one window becomes an incident whose window and samples read back."""
    csv, labels = _nab(tmp_path)
    result = import_nab_file(csv, labels, tmp_path / "out", NabOptions(alert="MachineHot", within="10m"))
    rec = load_recording(result.manifests[0])
    assert rec.name == "machine_temp" and rec.kind == "incident" and rec.manifest.source == "imported"
    assert rec.manifest.windows[0].start_ms == parse_time_ms("2014-01-01T02:00:00Z")
    assert rec.manifest.fire[0].alert == "MachineHot" and rec.manifest.fire[0].within_s == 600
    assert len(rec.series[0].values) == 100 and rec.series[0].values[3] == 1.5


def test_nab_file_without_windows_is_noise(tmp_path: Path) -> None:
    """A NAB file whose window list is empty becomes a noise recording."""
    csv, labels = _nab(tmp_path, windows=[])
    assert load_recording(import_nab_file(csv, labels, tmp_path / "out").manifests[0]).kind == "noise"


def test_nab_window_outside_data_is_refused(tmp_path: Path) -> None:
    """A labelled window after the data's end is an error naming the windows file."""
    csv, labels = _nab(tmp_path, windows=[["2014-01-02 02:00:00", "2014-01-02 03:00:00"]])
    with pytest.raises(RecordingError, match=r"windows\.json:2: window .* lies outside the data"):
        import_nab_file(csv, labels, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:00:00,2\n", 3, "duplicate of the previous row's (--repair"),
        ("timestamp,value\n2014-01-01 00:05:00,1\n2014-01-01 00:00:00,2\n", 3, "before the previous row's (--repair"),
        ("timestamp,value\n2014-01-01 00:00:00,hot\n", 2, "not a number"),
        ("timestamp,value\n", 1, "empty recording"),
        ("time,val\n1,2\n", 1, "header"),
    ],
    ids=["duplicate", "unsorted", "not-a-number", "empty", "header"],
)
def test_nab_bad_csv_names_file_and_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    """Duplicate, unsorted, non-numeric or empty CSV input is refused at its line."""
    csv = tmp_path / "bad.csv"
    csv.write_text(body)
    with pytest.raises(RecordingError) as info:
        read_nab_csv(csv)
    assert str(info.value).startswith(f"{csv}:{line}: ") and fragment in str(info.value)


def test_promtool_import_makes_one_recording_per_positive_eval_time(tmp_path: Path) -> None:
    """The demo test's 18m checks become one incident expecting both alerts firing at 18m; the
    5m silence rides on it as a point check, annotations included."""
    summary = import_test_file(FIXTURES / "promtool" / "demo.test.yaml", tmp_path)
    assert [p.name for p in summary.manifests] == ["demo-test-g1-at-18m.yaml"]
    rec = load_recording(summary.manifests[0])
    assert rec.start_ms == 0 and rec.manifest.windows[0].start_ms == 18 * 60_000
    assert {(e.alert, e.within_s) for e in rec.manifest.fire} == {("DemoHighErrorRatio", 0), ("DemoSomeErrors", 0)}
    assert rec.manifest.fire[1].labels == {"severity": "warning", "job": "demo"}
    checks = {(c.at_ms, c.alert): c for c in rec.manifest.alerts_at}
    assert checks[(5 * 60_000, "DemoHighErrorRatio")].alerts == ()
    assert checks[(18 * 60_000, "DemoSomeErrors")].alerts[0].annotations == {"summary": "Some requests fail."}
    assert summary.silent_tests == 1 and summary.carried_alert_tests == summary.alert_tests == 3


NAB = Path(__file__).resolve().parents[2] / "fixtures" / "importers" / "nab"


def test_nab_repair_sorts_dedups_and_says_what_changed(tmp_path: Path) -> None:
    """A DST hour written twice and a repeated hour out of order (real NAB rows) are refused
    without --repair, and with it are dropped and sorted, each change named by line."""
    faults = NAB / "ambient_temperature_export_faults.csv"
    with pytest.raises(RecordingError, match=r"export_faults\.csv:11: timestamp 2013-11-17 01:00:00 is a duplicate"):
        read_nab_csv(faults)
    data = read_nab_csv(faults, repair=True)
    clean = read_nab_csv(NAB / "ambient_temperature_system_failure.csv")
    assert (data.timestamps, data.values) == (clean.timestamps, clean.values)
    assert data.repairs == [
        f"{faults}: sorted 1 row(s) that went back in time, first at line 39 (2013-11-18 03:00:00)",
        f"{faults}:11: dropped a second row for 2013-11-17 01:00:00 (value 71.579, kept 72.5315 of line 10)",
        f"{faults}:39: dropped a second row for 2013-11-18 03:00:00 (the same value)",
    ]


def test_nab_warns_of_gaps_and_sparse_samples() -> None:
    """Hourly samples (longer than the 5m lookback) and a two-day hole are warned of, with times."""
    data = read_nab_csv(NAB / "ambient_temperature_system_failure.csv")
    assert len(data.warnings) == 2
    assert "samples every 1h, longer than the 5m lookback" in data.warnings[0]
    assert "no samples for 2.0 days, 2013-11-18T12:00:00Z..2013-11-20T12:00:00Z" in data.warnings[1]


def test_nab_windows_become_incidents_that_fire_inside_them(tmp_path: Path) -> None:
    """Each labelled window is one incident over the shared data, expecting a fire within the
    window's own length (not a fixed 15m of a window that lasts hours)."""
    result = import_nab_file(NAB / "ambient_temperature_system_failure.csv", NAB / "windows.json", tmp_path)
    recordings = [load_recording(p) for p in result.manifests]
    assert [r.name for r in recordings] == ["ambient_temperature_system_failure-window1", "ambient_temperature_system_failure-window2"]
    assert [r.manifest.fire[0].within_s for r in recordings] == [12 * 3600, 6 * 3600]
    assert {r.manifest.data_path.name for r in recordings} == {p.name for p in tmp_path.glob("*.om")}
    assert len(result.warnings) == 2
