"""Issue 8 items 8 and 12: the rendered collector configs (bearer-token receivers, file_storage
queues, memory limits) pass `validate` of obsbox's own collector distribution."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import settings_from_host_data

ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}



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
def test_deploy_collector_config_passes_validate(data: dict, tmp_path: Path, pinned_tool: Callable[[str], str]) -> None:
    """`otelcol validate` accepts the config the deploy installs."""
    binary = pinned_tool("otelcol")
    plan = plan_for(settings_from_host_data({**ROUTED, **data}), "otelcol")
    (text,) = [f.content for g in plan.groups for f in g.files if f.path == "/etc/otelcol/config.yaml"]
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = subprocess.run([binary, "validate", f"--config={config}"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
