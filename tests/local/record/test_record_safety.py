"""`obsbox record` against a real Prometheus: it never overwrites silently, infers an incident from
incident flags, and writes under ./recordings by default, never into the shipped corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.replay.recording import load_manifest


def _record(url: str, now: float, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        [
            "record",
            "--prometheus",
            url,
            "--match",
            'up{job="prometheus"}',
            "--start",
            f"{now - 30:.3f}",
            "--end",
            f"{now:.3f}",
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_record_refuses_to_overwrite_without_force(
    prometheus_url: str, tmp_path: Path, wait_for_samples: Callable[[str, str, int], float]
) -> None:
    """A second recording of the same name is refused (files untouched) unless --force is given."""
    now = wait_for_samples(prometheus_url, 'up{job="prometheus"}', 5)
    code, _, err = _record(prometheus_url, now, "--name", "r", "--out", str(tmp_path), "--description", "first")
    assert code == 0, err
    before = (tmp_path / "r.yaml").read_text()
    code, _, err = _record(prometheus_url, now, "--name", "r", "--out", str(tmp_path), "--description", "second")
    assert code == 2
    assert err.strip().splitlines() == [f"error: {tmp_path / 'r.om'} already exists; choose another --name, or pass --force to overwrite it"]
    assert (tmp_path / "r.yaml").read_text() == before
    code, _, err = _record(prometheus_url, now, "--name", "r", "--out", str(tmp_path), "--description", "second", "--force")
    assert code == 0, err
    assert load_manifest(tmp_path / "r.yaml").description == "second"


def test_record_infers_an_incident_from_window_and_expected_alert(
    prometheus_url: str, tmp_path: Path, wait_for_samples: Callable[[str, str, int], float]
) -> None:
    """--window and --expect-alert without --kind make a valid incident manifest, not a noise one."""
    now = wait_for_samples(prometheus_url, 'up{job="prometheus"}', 5)
    window = f"{now - 20:.3f}/{now - 10:.3f}"
    code, _, err = _record(
        prometheus_url, now, "--name", "i", "--out", str(tmp_path), "--window", window, "--expect-alert", "TargetDown"
    )
    assert code == 0, err
    manifest = load_manifest(tmp_path / "i.yaml")
    assert manifest.kind == "incident"
    assert [e.alert for e in manifest.fire] == ["TargetDown"] and len(manifest.windows) == 1


def test_record_refuses_noise_with_incident_flags(
    prometheus_url: str, tmp_path: Path, wait_for_samples: Callable[[str, str, int], float]
) -> None:
    """--kind noise with --window is a contradiction: refused before anything is written."""
    now = wait_for_samples(prometheus_url, 'up{job="prometheus"}', 5)
    window = f"{now - 20:.3f}/{now - 10:.3f}"
    code, _, err = _record(prometheus_url, now, "--name", "n", "--out", str(tmp_path), "--kind", "noise", "--window", window)
    assert code == 2
    assert "--kind incident" in err and "--window" in err
    assert list(tmp_path.iterdir()) == []


def test_record_writes_under_recordings_by_default(
    prometheus_url: str, tmp_path: Path, wait_for_samples: Callable[[str, str, int], float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out the recording lands in ./recordings, and nothing goes to alert_rules/incidents."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alert_rules" / "incidents").mkdir(parents=True)
    now = wait_for_samples(prometheus_url, 'up{job="prometheus"}', 5)
    code, out, err = _record(prometheus_url, now, "--name", "mine")
    assert code == 0, err
    assert (tmp_path / "recordings" / "mine.om").is_file() and (tmp_path / "recordings" / "mine.yaml").is_file()
    assert list((tmp_path / "alert_rules" / "incidents").iterdir()) == []
    assert "recordings/mine.om" in out


def test_record_prints_times_not_floats(tmp_path: Path) -> None:
    """An end before the start is refused with both times in RFC 3339, not as 1.79e+09 floats."""
    result = CliRunner().invoke(
        app,
        ["record", "--prometheus", "http://127.0.0.1:9", "--match", "up", "--start", "1795165200", "--end", "1795165100",
         "--name", "x", "--out", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: end 2026-11-20T08:58:20Z is not after start 2026-11-20T09:00:00Z"
