"""A real Prometheus on a free loopback port, scraping itself every second."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from examples.procs import ManagedProcess, free_port


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (Debian package prometheus)")
    workdir = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    proc = ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        dict(os.environ),
        workdir / "prometheus.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http(f"{url}/-/ready", timeout=30)
        yield url
    finally:
        proc.stop(timeout=15)


@pytest.fixture
def wait_for_samples() -> Callable[[str, str, int], float]:
    """A poller: wait until a selector has enough samples; returns the server's time."""
    return _wait_for_samples


def _wait_for_samples(url: str, selector: str, count: int, timeout: float = 30.0) -> float:
    """Poll until `selector` has at least `count` samples in the last minute; returns the server's time."""
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(
            f"{url}/api/v1/query", params={"query": f"count_over_time({selector}[1m])"}, timeout=5
        ).json()
        result = body["data"]["result"]
        if result and float(result[0]["value"][1]) >= count:
            return float(result[0]["value"][0])
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector}: fewer than {count} samples after {timeout} s: {result}")
        time.sleep(0.2)  # polling interval, bounded by the deadline
