"""Manifests that are valid: parsing, defaults, durations and times."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.replay.recording import (
    format_duration,
    format_time,
    load_corpus,
    load_recording,
    parse_duration,
    parse_time_ms,
)

T0 = 1_795_000_000  # seconds; 2026-11-18T...


def write_om(path: Path, start_s: int = T0, n: int = 241, step_s: int = 15) -> None:
    lines = [f'errors_total{{job="demo"}} {i} {start_s + i * step_s}\n' for i in range(n)]
    path.write_text("".join(lines) + "# EOF\n")


MANIFEST = f"""\
name: spike
kind: incident
description: >-
  A spike.
source: generated
windows:
  - start: {T0 + 600}
    end: {format_time((T0 + 1200) * 1000)}
expect:
  fire:
    - alert: HighErrors
      within: 5m
    - severity: critical
      within: 1h30m
      labels: {{job: demo}}
"""


def test_incident_manifest_loads_with_defaults(tmp_path: Path) -> None:
    """A minimal incident takes its data from <name>.om and its range from the data."""
    write_om(tmp_path / "spike.om")
    (tmp_path / "spike.yaml").write_text(MANIFEST)
    rec = load_recording(tmp_path / "spike.yaml")
    assert (rec.start_ms, rec.end_ms) == (T0 * 1000, (T0 + 3600) * 1000)
    assert rec.manifest.windows[0].start_ms == (T0 + 600) * 1000
    assert rec.manifest.windows[0].end_ms == (T0 + 1200) * 1000
    assert [e.within_s for e in rec.manifest.fire] == [300, 5400]
    assert rec.manifest.fire[1].labels == {"job": "demo"}
    assert rec.manifest.quiet_severities == ()


def test_noise_defaults_to_critical_quiet(tmp_path: Path) -> None:
    """A noise recording without expect keeps critical alerts quiet by default."""
    write_om(tmp_path / "data.om")
    (tmp_path / "calm.yaml").write_text(
        "name: calm\nkind: noise\ndescription: d\nsource: recorded\ndata: data.om\n"
        f"start: {format_time(T0 * 1000)}\nend: {T0 + 1800}\n"
    )
    rec = load_recording(tmp_path / "calm.yaml")
    assert rec.manifest.quiet_severities == ("critical",)
    assert rec.end_ms == (T0 + 1800) * 1000


def test_corpus_loads_every_manifest_in_order(tmp_path: Path) -> None:
    """load_corpus finds manifests in subdirectories and returns them sorted by path."""
    for sub in ("b", "a"):
        (tmp_path / sub).mkdir()
        write_om(tmp_path / sub / "spike.om")
        (tmp_path / sub / f"spike-{sub}.yaml").write_text(MANIFEST.replace("name: spike", f"name: spike-{sub}").replace(
            "kind: incident", "kind: incident\ndata: spike.om"))
    assert [r.name for r in load_corpus(tmp_path)] == ["spike-a", "spike-b"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("250ms", 0.25), ("0s", 0)],
)
def test_parse_duration_reads_prometheus_durations(text: str, seconds: float) -> None:
    """Prometheus-style durations convert to seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "1m1h", "-5m"])
def test_parse_duration_refuses_other_text(text: str) -> None:
    """Anything that is not a Prometheus duration is refused."""
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    """format_duration spells seconds so that parse_duration reads them back."""
    for seconds in (0, 59, 60, 3600, 5400, 90061):
        assert parse_duration(format_duration(seconds)) == seconds


def test_parse_time_accepts_rfc3339_and_epoch() -> None:
    """RFC 3339 with Z or an offset, and epoch seconds, give the same instant."""
    assert parse_time_ms("2026-11-20T10:00:00Z") == parse_time_ms("2026-11-20T11:00:00+01:00")
    assert parse_time_ms("1795000000") == 1_795_000_000_000
    assert format_time(parse_time_ms("2026-11-20T10:00:00Z")) == "2026-11-20T10:00:00Z"


def test_parse_time_refuses_naive_time() -> None:
    """A time without a zone is ambiguous and refused."""
    with pytest.raises(ValueError, match="no time zone"):
        parse_time_ms("2026-11-20T10:00:00")
