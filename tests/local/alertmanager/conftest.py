"""A real Alertmanager on a free loopback port, running the rendered config."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from examples.procs import ManagedProcess, free_port
from obsbox.render.alertmanager import AlertmanagerSettings, render_alertmanager_config

ALERTMANAGER_BIN = "alertmanager"


@pytest.fixture(scope="module")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which(ALERTMANAGER_BIN)
    if binary is None:
        pytest.fail("alertmanager is missing: `make setup` builds the pinned release")
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = workdir / "alertmanager.yml"
    # Webhooks point at a closed port: these tests look at routing state, not deliveries.
    closed = f"http://127.0.0.1:{free_port()}/"
    config.write_text(
        render_alertmanager_config(AlertmanagerSettings(page_webhook_url=closed, ticket_webhook_url=closed))
    )
    port = free_port()
    proc = ManagedProcess(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        dict(os.environ),
        workdir / "alertmanager.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http(f"{url}/-/ready", timeout=20)
        yield url
    finally:
        proc.stop(timeout=10)
