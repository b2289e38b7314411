"""Recording from the real demo service: faults injected through its admin endpoint reach the recording."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

from obsbox.corpus import record_demo
from obsbox.replay.openmetrics import read_series
from obsbox.replay.recording import load_manifest


def test_record_demo_captures_injected_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 15-second 503 fault on the real demo shows up as 503 counts inside the manifest's window only."""
    if shutil.which("prometheus") is None or not (Path(sys.executable).parent / "gunicorn").exists():
        pytest.skip("needs prometheus (Debian package) and gunicorn (make setup)")
    short = dataclasses.replace(record_demo.PLANS["recorded-5xx-spike"], before_s=15, fault_s=15, after_s=10)
    monkeypatch.setitem(record_demo.PLANS, "recorded-5xx-spike", short)
    record_demo.record("recorded-5xx-spike", tmp_path)
    manifest = load_manifest(tmp_path / "recorded-5xx-spike.yaml")
    (window,) = manifest.windows
    errors = [
        s
        for s in read_series(manifest.data_path)
        if s.name == "http_server_request_duration_seconds_count"
        and s.labels["http_response_status_code"] == "503"
    ]
    assert errors, "no 503 series recorded"
    total = {t: 0.0 for s in errors for t in s.timestamps_ms}
    for s in errors:
        for t, v in zip(s.timestamps_ms, s.values):
            total[t] += v
    before = [v for t, v in total.items() if t < window.start_ms]
    # The 503 series are born with the fault; whatever exists before the window is zero.
    assert all(v == 0 for v in before)
    assert max(total.values()) > 0
    assert min(t for t, v in total.items() if v > 0) >= window.start_ms


def test_record_demo_crash_loop_resets_counters_inside_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash-loop plan really kills and restarts both instances: request counters drop back
    (a reset) at least twice per instance inside the window, never before it, and `up` sees it."""
    if not (Path(sys.executable).parent / "gunicorn").exists():
        pytest.skip("needs gunicorn (make setup)")
    short = dataclasses.replace(record_demo.PLANS["recorded-crash-loop"], before_s=15, fault_s=65, after_s=10)
    monkeypatch.setitem(record_demo.PLANS, "recorded-crash-loop", short)
    record_demo.record("recorded-crash-loop", tmp_path)
    manifest = load_manifest(tmp_path / "recorded-crash-loop.yaml")
    (window,) = manifest.windows
    series = read_series(manifest.data_path)
    resets: dict[str, list[int]] = {}
    for s in series:
        if s.name != "http_server_request_duration_seconds_count":
            continue
        for (_, a), (t, b) in zip(zip(s.timestamps_ms, s.values), zip(s.timestamps_ms[1:], s.values[1:])):
            if b < a:
                resets.setdefault(s.labels["instance"], []).append(t)
    assert len(resets) == 2, resets
    for times in resets.values():
        assert len(set(times)) >= 2 and min(times) >= window.start_ms, times
    ups = [s for s in series if s.name == "up"]
    assert len(ups) == 2
