"""The corpus generator and the shipped corpus: deterministic, loadable, well-formed recordings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app
from obsbox.corpus.builder import SeriesBuilder
from obsbox.corpus.scenarios import SCENARIOS
from obsbox.replay.openmetrics import read_series
from obsbox.replay.recording import load_manifest

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "alert_rules" / "incidents"
MANIFESTS = sorted(CORPUS.glob("*.yaml"))


def test_corpus_has_enough_incidents_and_noise() -> None:
    """The shipped corpus holds at least 12 incidents and 12 noise recordings."""
    kinds = [load_manifest(m).kind for m in MANIFESTS]
    assert kinds.count("incident") >= 12 and kinds.count("noise") >= 12


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_corpus_recording_loads(manifest: Path) -> None:
    """Each manifest loads with the replay's own loader and its data reads back with samples in its range."""
    m = load_manifest(manifest)
    series = read_series(m.data_path)
    assert series
    first = min(s.timestamps_ms[0] for s in series)
    assert m.start_ms is None or first >= m.start_ms - 60_000


def test_corpus_generator_rewrites_identical_bytes(tmp_path: Path) -> None:
    """Running the generator again writes exactly the checked-in files (fixed seeds)."""
    names = [n for n in SCENARIOS if n != "slow-burn"]  # slow-burn is 83 hours; the rest prove it
    assert CliRunner().invoke(app, ["corpus", "generate", "--out", str(tmp_path), *names]).exit_code == 0
    for name in names:
        for suffix in (".om", ".yaml"):
            assert (tmp_path / f"{name}{suffix}").read_bytes() == (CORPUS / f"{name}{suffix}").read_bytes(), (
                name
            )


def test_corpus_generated_histograms_are_consistent() -> None:
    """In every generated histogram the buckets are cumulative and +Inf equals _count at every sample."""
    seed, fn = SCENARIOS["latency-degradation"]
    series = fn(seed).series
    by_key: dict[tuple, dict[str, list[float]]] = {}
    for s in series:
        if not s.name.startswith("http_server_request_duration_seconds_"):
            continue
        rest = tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("__name__", "le")))
        suffix = s.name.rsplit("_", 1)[1] + (f":{s.labels['le']}" if "le" in s.labels else "")
        by_key.setdefault(rest, {})[suffix] = list(s.values)
    assert by_key
    for parts in by_key.values():
        assert parts["bucket:+Inf"] == parts["count"]
        assert all(
            a <= b <= c for a, b, c in zip(parts["bucket:0.5"], parts["bucket:1.0"], parts["bucket:+Inf"])
        )


def test_corpus_counters_never_decrease_except_resets() -> None:
    """Generated counters only fall to a restart's fresh value, never part-way."""
    seed, fn = SCENARIOS["counter-resets-on-restart"]
    resets = 0
    for s in fn(seed).series:
        if not s.name.endswith(("_count", "_total", "_sum", "_bucket")):
            continue
        for prev, cur in zip(s.values, s.values[1:]):
            if cur < prev:
                resets += 1
                assert cur < prev / 2, f"{s.labels}: {prev} -> {cur} is not a restart"
    assert resets >= 3


def test_corpus_builder_drops_missing_scrapes() -> None:
    """A scrape marked missing leaves a gap in every series; jitter moves the sample time."""
    b = SeriesBuilder(start_s=1000, step_s=60, steps=4)
    b.add({"__name__": "x_total"}, 1, 5)
    b.missing.add(2)
    b.jitter_s[3] = 2.5
    (s,) = b.build()
    assert list(s.timestamps_ms) == [1_000_000, 1_060_000, 1_182_500]
    assert list(s.values) == [0, 5, 5]
    assert not any(math.isnan(v) for v in s.values)
