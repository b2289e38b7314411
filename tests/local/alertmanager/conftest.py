"""A real Alertmanager on a free loopback port, running the rendered config."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from obsbox.render.alertmanager import AlertmanagerSettings, render_alertmanager_config

ALERTMANAGER_BIN = "prometheus-alertmanager"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which(ALERTMANAGER_BIN)
    if binary is None:
        pytest.skip("prometheus-alertmanager is not installed (Debian package prometheus-alertmanager)")
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = workdir / "alertmanager.yml"
    # Webhooks point at a closed port: these tests look at routing state, not deliveries.
    closed = f"http://127.0.0.1:{_free_port()}/"
    config.write_text(
        render_alertmanager_config(AlertmanagerSettings(page_webhook_url=closed, ticket_webhook_url=closed))
    )
    port = _free_port()
    log = (workdir / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, Path(log.name))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling interval, bounded by the deadline
    raise RuntimeError(f"alertmanager not ready after 20 s: {log.read_text()[-2000:]}")
