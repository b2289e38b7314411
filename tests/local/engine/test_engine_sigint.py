"""A real Ctrl-C (SIGINT to the process group) during `obsbox promtool-test` leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engines import PEER_SUITES
from tests.processes import processes_mentioning

PEER_FILE = PEER_SUITES / "etcd" / "test.yaml"


@pytest.mark.skipif(not PEER_FILE.exists(), reason="shared/peer-suites is not on this machine")
def test_ctrl_c_stops_prometheus_and_removes_temporary_data(tmp_path: Path) -> None:
    """SIGINT while a test group is evaluated exits 130 with no Prometheus and no temporary TSDB left."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    # No block cache: the interrupt must meet a cold run (promtool, then Prometheus), not cached blocks.
    env = {**os.environ, "TMPDIR": str(tmpdir), "OBSBOX_BLOCK_CACHE": "off"}
    obsbox = Path(sys.executable).parent / "obsbox"
    proc = subprocess.Popen(
        [str(obsbox), "promtool-test", str(PEER_FILE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 60
        while not processes_mentioning(str(tmpdir)) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        assert processes_mentioning(str(tmpdir)), "Prometheus never started"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err.decode()
    deadline = time.monotonic() + 10
    while processes_mentioning(str(tmpdir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_mentioning(str(tmpdir)) == []
    assert list(tmpdir.iterdir()) == []
