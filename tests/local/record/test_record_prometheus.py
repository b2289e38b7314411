"""`obsbox record` exports raw samples from a real Prometheus into a recording that reads back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
import yaml
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.recorder import RecordRequest, fetch
from obsbox.replay.openmetrics import read_series
from obsbox.replay.recording import load_manifest


def _stored(url: str, selector: str, at: float) -> dict[int, float]:
    body = requests.get(
        f"{url}/api/v1/query", params={"query": f"{selector}[2m]", "time": at}, timeout=5
    ).json()
    return {round(float(t) * 1000): float(v) for t, v in body["data"]["result"][0]["values"]}


def test_record_fetch_returns_every_raw_sample(
    prometheus_url: str, wait_for_samples: Callable[[str, str, int], float]
) -> None:
    """Chunked fetching returns exactly the samples Prometheus stores, once each, across chunk edges."""
    now = wait_for_samples(prometheus_url, 'up{job="prometheus"}', 8)
    # 2-second chunks: many edges, each a chance to duplicate or lose a sample.
    series = fetch(RecordRequest(prometheus_url, ('up{job="prometheus"}',), now - 60, now, chunk_s=2))
    assert len(series) == 1
    recorded = dict(zip(series[0].timestamps_ms, series[0].values))
    stored = {
        t: v
        for t, v in _stored(prometheus_url, 'up{job="prometheus"}', now).items()
        if t >= (now - 60) * 1000
    }
    assert recorded == stored


def test_record_command_writes_recording_that_loads(
    prometheus_url: str, tmp_path: Path, wait_for_samples: Callable[[str, str, int], float]
) -> None:
    """`obsbox record` writes <name>.om and a manifest that the replay's loaders accept."""
    now = wait_for_samples(prometheus_url, "prometheus_http_requests_total", 5)
    result = CliRunner().invoke(
        app,
        [
            "record",
            "--prometheus",
            prometheus_url,
            "--match",
            "prometheus_http_requests_total",
            "--match",
            'up{job="prometheus"}',
            "--start",
            f"{now - 30:.3f}",
            "--end",
            f"{now:.3f}",
            "--name",
            "self-scrape",
            "--out",
            str(tmp_path),
            "--description",
            "Prometheus scraping itself.",
        ],
    )
    assert result.exit_code == 0, result.output
    series = read_series(tmp_path / "self-scrape.om")
    assert {s.name for s in series} == {"prometheus_http_requests_total", "up"}
    manifest = load_manifest(tmp_path / "self-scrape.yaml")
    assert manifest.kind == "noise" and manifest.source == "recorded"
    assert yaml.safe_load((tmp_path / "self-scrape.yaml").read_text())["data"] == "self-scrape.om"


def test_record_command_names_bad_selector(prometheus_url: str, tmp_path: Path) -> None:
    """A selector Prometheus cannot parse fails with Prometheus' error and exit status 2."""
    result = CliRunner().invoke(
        app,
        [
            "record",
            "--prometheus",
            prometheus_url,
            "--match",
            "up{",
            "--start",
            "0",
            "--end",
            "60",
            "--name",
            "bad",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "bad_data" in result.output and "up{" in result.output
