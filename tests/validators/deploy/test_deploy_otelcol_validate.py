"""Issue 8 items 8 and 12: the rendered collector configs (bearer-token receivers, file_storage
queues, memory limits) pass `validate` of obsbox's own collector distribution."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path

import pytest

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import settings_from_host_data

ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


def _collector() -> str:
    """obsbox's collector build (obsbox.binaries, once built by make setup), else one on PATH."""
    try:
        built = importlib.import_module("obsbox.binaries.locate").built("otelcol")
    except (ImportError, AttributeError):
        built = None
    path = str(built) if built else shutil.which("otelcol-obsbox") or shutil.which("otelcol")
    if not path:
        pytest.skip("no collector binary found: obsbox's build (obsbox.binaries.locate) or otelcol-obsbox/otelcol on PATH")
    return path


@pytest.mark.parametrize(
    "data",
    [
        {},
        {
            "obsbox_bind_address": "10.0.0.12",
            "otelcol_otlp_bearer_token": "token-0123456789abcdef",
            "otelcol_debug_endpoints": True,
            "otelcol_memory_max_mib": 2048,
            "obsbox_allow_unauthenticated": ["node_exporter", "prometheus", "alertmanager", "loki", "tempo"],
        },
    ],
    ids=["all-in-one", "internal-bind-with-token"],
)
def test_deploy_collector_config_passes_validate(data: dict, tmp_path: Path) -> None:
    """`otelcol validate` accepts the config the deploy installs."""
    binary = _collector()
    plan = plan_for(settings_from_host_data({**ROUTED, **data}), "otelcol")
    (text,) = [f.content for g in plan.groups for f in g.files if f.path == "/etc/otelcol/config.yaml"]
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = subprocess.run([binary, "validate", f"--config={config}"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
