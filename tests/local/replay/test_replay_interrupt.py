"""Ctrl-C during a replay: one line on stderr, exit 130, Prometheus stopped, temporary data gone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from replay_process import obsbox_command

from obsbox.replay.model import Series
from obsbox.replay.openmetrics import write_series
from tests.processes import processes_mentioning

T0 = 1_795_165_200


def _big_corpus(directory: Path) -> None:
    """Four days at 15 s of 10 series: long enough that the replay is still busy when interrupted."""
    directory.mkdir()
    n = 4 * 86400 // 15
    ts = [(T0 + i * 15) * 1000 for i in range(n)]
    series = [Series({"__name__": "http_requests_total", "code": "200", "pod": f"p{k}"}, ts, [float(i) for i in range(n)]) for k in range(10)]
    write_series(series, directory / "long-calm.om")
    (directory / "long-calm.yaml").write_text("name: long-calm\nkind: noise\ndescription: two calm weeks\nsource: generated\n")


@pytest.mark.parametrize("busy", ["promtool", "prometheus"])
def test_sigint_stops_processes_and_removes_temporary_data(busy: str, replay_rules: Path, replay_tmpdir: Path, tmp_path: Path) -> None:
    """SIGINT during the backfill or while Prometheus runs: exit 130, no process or file left."""
    corpus = tmp_path / "corpus"
    _big_corpus(corpus)
    # No block cache: the interrupt must meet a cold run (promtool, then Prometheus), not cached blocks.
    env = dict(os.environ, TMPDIR=str(replay_tmpdir), OBSBOX_BLOCK_CACHE="off")
    report = tmp_path / "report.json"
    process = subprocess.Popen(
        obsbox_command("replay", "--rules", replay_rules, "--incidents", corpus, "--json", report),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        # Wait until the replay's promtool or Prometheus (working on data under our TMPDIR) runs.
        while not processes_mentioning(f"{replay_tmpdir}/", f"/{busy}") and process.poll() is None:
            assert time.monotonic() < deadline, f"{busy} never started"
            time.sleep(0.01)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: interrupted"), stderr
    assert "Traceback" not in stderr
    assert processes_mentioning(str(replay_tmpdir)) == []
    assert list(replay_tmpdir.iterdir()) == []
    assert not report.exists()
