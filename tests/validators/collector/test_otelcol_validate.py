"""`otelcol validate` of the pinned collector build on every collector config obsbox renders:
each shipped inventory's and each setting that changes the config."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from obsbox.deploy.localcheck import check_tree
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import settings_from_host_data
from obsbox.render.otelcol import OtelcolSettings, render_otelcol_config

REPO = Path(__file__).resolve().parents[3]
INVENTORIES = sorted(p.name for p in (REPO / "deploy" / "inventories").glob("*.py"))
MANIFEST = REPO / "distributions" / "otelcol-obsbox" / "manifest.yaml"

# One variant per setting (or group of settings) that changes the rendered config; each must
# still be a config the real collector accepts.
VARIANTS: dict[str, dict[str, object]] = {
    "defaults": {},
    "internal-address": {"listen_address": "10.0.0.12"},
    "ipv6-loopback": {"listen_address": "::1"},
    "other-ports": {
        "otlp_grpc_port": 14317,
        "otlp_http_port": 14318,
        "health_port": 23133,
        "telemetry_port": 18888,
        "prometheus_exporter_port": 18889,
    },
    "remote-backends": {
        "tempo_otlp_endpoint": "10.0.0.12:4417",
        "loki_otlp_url": "https://loki.internal.example:3100/otlp",
    },
    "memory-limits": {"memory_limit_percentage": 90, "memory_spike_limit_percentage": 25},
    "batching": {"batch_timeout": "200ms", "batch_size": 512},
    "metric-expiration": {"metric_expiration": "30s"},
    "debug-endpoints": {"debug_endpoints": True},
    "debug-endpoints-other-ports": {"debug_endpoints": True, "pprof_port": 11777, "zpages_port": 15679},
    "log-level-debug": {"log_level": "debug"},
    "log-level-warn": {"log_level": "warn"},
    "log-level-error": {"log_level": "error"},
    "memory-max": {"memory_max_mib": 2048},
    "otlp-bearer-token": {"bearer_token_file": "/run/credentials/otelcol.service/otlp-token"},
    "queue-dir": {"queue_dir": "/srv/otelcol/queue"},
    # The HA layout's agent: everything to the gateways through load_balancing.
    "agent": {"role": "agent", "gateway_endpoints": ("10.0.0.24:4317", "10.0.0.25:4317")},
    "agent-token-retry": {
        "role": "agent",
        "gateway_endpoints": ("10.0.0.24:4317",),
        "gateway_token_env": "OBSBOX_OTLP_TOKEN",
        "gateway_retry_max_elapsed": "30s",
    },
}
# The deploy refuses an Alertmanager that notifies nobody.
ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


def _collector_configs(host_data: dict) -> list[str]:
    files = render_host_files(settings_from_host_data(host_data))
    return [content for path, content in files.items() if path.endswith("/otelcol/config.yaml")]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_otelcol_validate_accepts_inventory_configs(
    inventory: str, inventory_hosts: Callable[[str], dict[str, dict]], otelcol_validate
) -> None:  # type: ignore[no-untyped-def]
    """The collector config of every host of a shipped inventory that runs the collector passes `otelcol validate`."""
    configs = [c for data in inventory_hosts(inventory).values() for c in _collector_configs(data)]
    assert configs, f"{inventory} renders no collector config"
    for config in configs:
        result = otelcol_validate(config)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_otelcol_validate_accepts_setting(variant: str, otelcol_validate) -> None:  # type: ignore[no-untyped-def]
    """The config rendered with this setting changed passes `otelcol validate`."""
    result = otelcol_validate(render_otelcol_config(OtelcolSettings(**VARIANTS[variant])))  # type: ignore[arg-type]
    assert result.returncode == 0, result.stdout + result.stderr


def test_otelcol_validate_variants_cover_every_setting() -> None:
    """Every field of OtelcolSettings is changed by some variant and changes the rendered config."""
    defaults = OtelcolSettings()
    default_config = render_otelcol_config(defaults)
    changed = {key for variant in VARIANTS.values() for key in variant}
    missing = {f.name for f in dataclasses.fields(OtelcolSettings)} - changed
    assert not missing, f"no validated variant changes {sorted(missing)}: add one to VARIANTS"
    for name, variant in VARIANTS.items():
        if variant:
            assert render_otelcol_config(OtelcolSettings(**variant)) != default_config, name  # type: ignore[arg-type]


def test_otelcol_validate_runs_through_the_deploy_check(tmp_path: Path, otelcol: str) -> None:
    """The deploy's local check (`obsbox deploy check`'s check_tree) runs `otelcol validate` with the pinned build."""
    settings = settings_from_host_data({"obsbox_bind_address": "127.0.0.1", **ROUTED})
    for path, content in render_host_files(settings).items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (result,) = [r for r in check_tree(tmp_path, settings) if r.name == "otelcol validate"]
    assert result.tool == otelcol
    assert result.ok, result.output


def test_otelcol_validate_rejects_unknown_component(otelcol_validate) -> None:  # type: ignore[no-untyped-def]
    """A config using a component outside obsbox's distribution fails validation (the check has teeth)."""
    config = yaml.safe_load(render_otelcol_config(OtelcolSettings()))
    config["exporters"]["debug"] = {}
    config["service"]["pipelines"]["traces"]["exporters"].append("debug")
    result = otelcol_validate(yaml.safe_dump(config))
    assert result.returncode != 0
    assert "debug" in result.stdout + result.stderr


def test_otelcol_validate_rejects_invalid_setting(otelcol_validate) -> None:  # type: ignore[no-untyped-def]
    """A config whose component settings are invalid fails validation, not only unknown keys."""
    config = yaml.safe_load(render_otelcol_config(OtelcolSettings()))
    # The spike allowance must stay below the limit.
    config["processors"]["memory_limiter"]["limit_mib"] = 100
    config["processors"]["memory_limiter"]["spike_limit_mib"] = 200
    result = otelcol_validate(yaml.safe_dump(config))
    assert result.returncode != 0, result.stdout + result.stderr


def test_otelcol_distribution_holds_exactly_the_manifest_components(otelcol: str) -> None:
    """`otelcol-obsbox components` lists exactly the receivers, processors, exporters and extensions of the manifest."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    out = subprocess.run([otelcol, "components"], capture_output=True, text=True, timeout=60, check=True)
    listed = yaml.safe_load(out.stdout)
    for kind in ("receivers", "processors", "exporters", "extensions"):
        want = sorted(_component_type(kind, entry["gomod"]) for entry in manifest[kind])
        have = sorted(str(item["name"]) for item in listed.get(kind) or [])
        assert have == want, kind


# Component types that differ from their module's name. Since collector 0.161 the OTLP exporters
# register as otlp_grpc and otlp_http, and deltatocumulative as delta_to_cumulative; the older
# names (what obsbox's configs say, for collectors before 0.161) remain accepted as aliases.
_TYPES = {
    ("processors", "memorylimiter"): "memory_limiter",
    ("processors", "deltatocumulative"): "delta_to_cumulative",
    ("exporters", "otlp"): "otlp_grpc",
    ("exporters", "otlphttp"): "otlp_http",
    ("exporters", "loadbalancing"): "load_balancing",
    ("extensions", "healthcheck"): "health_check",
    ("extensions", "filestorage"): "file_storage",
}


def _component_type(kind: str, gomod: str) -> str:
    """The component type a module registers (.../processor/batchprocessor v0.161.0 -> batch)."""
    package = gomod.split()[0].rsplit("/", 1)[-1]
    for suffix in ("receiver", "processor", "exporter", "extension"):
        if package.endswith(suffix):
            package = package.removesuffix(suffix)
            break
    return _TYPES.get((kind, package), package)
