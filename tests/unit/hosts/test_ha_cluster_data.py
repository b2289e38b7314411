"""Pure parts of the HA test bed: the inventory it converges, the drill target, the span sender's payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obsbox.deploy.ha import ROLES
from obsbox.deploy.settings import settings_from_host_data
from obsbox.hosts.ha_cluster import DRILL_JOB, DrillTarget, Secrets, cluster_groups, write_inventory
from obsbox.hosts.spans import parse_counters, trace_batch
from obsbox.hosts.stack import StackPlan

ADDRESSES = {role: f"10.214.0.{10 + i}" for i, role in enumerate(ROLES)}


def _groups(tmp_path: Path) -> dict:
    plan = StackPlan({"prometheus": "3.5.0", "victoriametrics": "1.151.0"}, ("loki", "tempo", "grafana"))
    return cluster_groups(ADDRESSES, "http://10.214.0.1:8000", plan, "http://10.214.0.1:9000", "10.214.0.1:9100",
                          tmp_path, Secrets.generate())  # fmt: skip


def test_cluster_groups_are_the_shipped_layout_with_unobtainable_components_off(tmp_path: Path) -> None:
    groups = _groups(tmp_path)
    hosts = [h for members in groups.values() for h in members]
    assert sorted(name for name, _ in hosts) == sorted(ADDRESSES.values())
    for name, data in hosts:
        assert not any(data[f"{c}_enabled"] for c in ("loki", "tempo", "grafana")), name
        assert data["prometheus_service_targets"] == {DRILL_JOB: ["10.214.0.1:9100"]}
        assert "10.214.0.0/24" in data["obsbox_ip_address_allow"]
        # Every host's data passes the deploy's own checks.
        settings_from_host_data(data, name)
    store = dict(hosts)[ADDRESSES["store"]]
    assert store["victoriametrics_enabled"] and store["alertmanager_enabled"]


def test_inventory_file_gives_each_host_its_own_key(tmp_path: Path) -> None:
    groups = _groups(tmp_path)
    keys = {address: tmp_path / f"{role}.key" for role, address in ADDRESSES.items()}
    inventory = write_inventory(tmp_path, groups, keys)
    namespace: dict = {"__file__": str(inventory)}
    exec(compile(inventory.read_text(), str(inventory), "exec"), namespace)
    for group, members in groups.items():
        loaded = namespace[group]
        assert [name for name, _ in loaded] == [name for name, _ in members]
        for name, data in loaded:
            assert data["ssh_key"] == str(keys[name])
    assert json.loads((tmp_path / "ha_inventory.json").read_text()).keys() == groups.keys()


def test_drill_target_exposes_each_drill_and_refuses_unknown_ones() -> None:
    target = DrillTarget()
    target.set("Baseline", 1)
    text = target.exposition().decode()
    assert 'obsbox_ha_drill_firing{drill="Baseline"} 1' in text
    assert 'obsbox_ha_drill_firing{drill="AlertmanagerPeerKilled"} 0' in text
    with pytest.raises(KeyError, match="unknown drill"):
        target.set("Nope", 1)


def test_trace_batch_puts_each_span_in_its_own_trace() -> None:
    batch = trace_batch(5, now_ns=2_000_000_000)
    spans = batch["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    assert len(spans) == 5
    assert len({s["traceId"] for s in spans}) == 5
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)


def test_parse_counters_sums_series_and_ignores_comments() -> None:
    text = (
        "# HELP otelcol_receiver_accepted_spans x\n"
        'otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 40\n'
        'otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 2\n'
        "otelcol_exporter_sent_spans_other 9\n"
    )
    assert parse_counters(text, ["otelcol_receiver_accepted_spans", "missing"]) == {
        "otelcol_receiver_accepted_spans": 42.0,
        "missing": 0.0,
    }
