"""The HA layout's moving parts for real, on loopback: the pinned Prometheus pair remote-writing into
the pinned VictoriaMetrics, three pinned Alertmanager peers gossiping, and the pinned collector as an
agent load-balancing to two gateways. Every flag and config comes from the deploy's own settings
and renderers; only ports, paths and intervals are the test's.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.procs import ManagedProcess, free_port, wait_until
from obsbox.deploy.plan import (
    alertmanager_cluster_flags,
    otelcol_settings,
    prometheus_settings,
    victoriametrics_plan,
)
from obsbox.deploy.settings import StackSettings, settings_from_host_data
from obsbox.hosts.webhook import webhook_receiver
from obsbox.render.alertmanager import AlertmanagerSettings, render_alertmanager_config
from obsbox.render.otelcol import render_otelcol_config
from obsbox.render.prometheus import render_prometheus_config

_OFF = {
    f"{c}_enabled": False
    for c in ("node_exporter", "alertmanager", "loki", "tempo", "grafana", "otelcol", "prometheus")
}
_ROUTED = {
    "alertmanager_page_webhook_url": "http://127.0.0.1:9/page",
    "alertmanager_ticket_webhook_url": "http://127.0.0.1:9/ticket",
    "alertmanager_watchdog_webhook_url": "http://127.0.0.1:9/watchdog",
}


def _settings(**data: Any) -> StackSettings:
    return settings_from_host_data({**_OFF, **_ROUTED, **data})


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def processes() -> Iterator[list[ManagedProcess]]:
    started: list[ManagedProcess] = []
    yield started
    for proc in reversed(started):
        proc.stop(timeout=10)


def _start(processes: list[ManagedProcess], name: str, argv: list[str], workdir: Path) -> ManagedProcess:
    proc = ManagedProcess(name, argv, dict(os.environ), workdir / f"{name}.log").start()
    processes.append(proc)
    return proc


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on port (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_ha_pair_writes_one_deduplicated_copy_to_victoriametrics(
    pinned_tool: Callable[[str], str], processes: list[ManagedProcess], tmp_path: Path
) -> None:
    """Two replicas scraping the same targets each second land in the store as one series per target,
    without the replica label, with about one sample per second (not two)."""
    vm_port, prom_ports = free_port(), (free_port(), free_port())
    targets = [f"127.0.0.1:{p}" for p in prom_ports]
    vm_settings = _settings(
        victoriametrics_enabled=True, victoriametrics_port=vm_port, prometheus_scrape_interval="1s"
    )
    argv = [
        a if not a.startswith("-storageDataPath=") else f"-storageDataPath={tmp_path / 'vm'}"
        for a in victoriametrics_plan(vm_settings).unit.exec_start
    ]
    argv[0] = pinned_tool("victoriametrics")
    assert "-dedup.minScrapeInterval=1s" in argv
    # Only the test's: data becomes queryable after 1 s instead of the default 30 s.
    vm = _start(processes, "victoriametrics", [*argv, "-search.latencyOffset=1s"], tmp_path)
    vm.wait_http(f"http://127.0.0.1:{vm_port}/health", timeout=30)

    for replica, port in zip("ab", prom_ports, strict=True):
        settings = _settings(
            prometheus_enabled=True,
            prometheus_port=port,
            prometheus_scrape_interval="1s",
            prometheus_evaluation_interval="1s",
            prometheus_external_labels={"cluster": "obsbox", "replica": replica},
            prometheus_replica_label="replica",
            prometheus_prometheus_targets=targets,
            prometheus_remote_write_urls=[f"http://127.0.0.1:{vm_port}/api/v1/write"],
        )
        config = tmp_path / f"prometheus-{replica}.yml"
        config.write_text(render_prometheus_config(prometheus_settings(settings, ())))
        prom = _start(
            processes,
            f"prometheus-{replica}",
            [
                pinned_tool("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / f'data-{replica}'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            tmp_path,
        )
        prom.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30)

    def query(expr: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{vm_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        return _get_json(url)["data"]["result"]

    assert wait_until(lambda: len(query('up{job="prometheus"}')) == 2, timeout=60, interval=1), vm.output()[
        -2000:
    ]
    time.sleep(20)  # 20 scrape intervals of both replicas; remote write sends at least every 5 s
    series = query('up{job="prometheus"}')
    assert sorted(s["metric"]["instance"] for s in series) == sorted(targets)
    for s in series:
        assert s["metric"].get("cluster") == "obsbox"
        assert "replica" not in s["metric"], s["metric"]
    # A 10 s window old enough that both replicas' batches have arrived: each replica wrote ~10
    # samples per target there, so ~20 without deduplication, ~10 with it.
    counts = [float(s["value"][1]) for s in query('count_over_time(up{job="prometheus"}[10s] offset 7s)')]
    assert len(counts) == 2
    assert all(8 <= c <= 12 for c in counts), counts


def test_ha_alertmanager_peers_gossip_on_their_address_and_notify_once(
    pinned_tool: Callable[[str], str], processes: list[ManagedProcess], tmp_path: Path
) -> None:
    """Three peers with the deploy's cluster flags form one cluster; gossip listens on 127.0.0.1 only;
    the same alert posted to every peer (as both replicas do) reaches the webhook once."""
    web_ports = [free_port() for _ in range(3)]
    gossip_ports = [free_port() for _ in range(3)]
    gossip = [f"127.0.0.1:{p}" for p in gossip_ports]
    with webhook_receiver("127.0.0.1") as (hook, inbox):
        config = tmp_path / "alertmanager.yml"
        config.write_text(
            render_alertmanager_config(
                AlertmanagerSettings(
                    page_webhook_url=f"{hook}/page",
                    ticket_webhook_url=f"{hook}/ticket",
                    watchdog_webhook_url=f"{hook}/watchdog",
                    group_wait="1s",
                )
            )
        )
        for i in range(3):
            settings = _settings(
                alertmanager_enabled=True,
                alertmanager_port=web_ports[i],
                alertmanager_cluster_port=gossip_ports[i],
                alertmanager_cluster_peers=[g for j, g in enumerate(gossip) if j != i],
            )
            flags = alertmanager_cluster_flags(settings)
            assert f"--cluster.listen-address={gossip[i]}" in flags
            peer = _start(
                processes,
                f"alertmanager-{i}",
                [
                    pinned_tool("alertmanager"),
                    f"--config.file={config}",
                    f"--storage.path={tmp_path / f'am-{i}'}",
                    f"--web.listen-address=127.0.0.1:{web_ports[i]}",
                    *flags,
                    # Only the test's: settle fast, and a peer sends 2 s per position after the first
                    # unless gossip says the notification went out (default 15 s).
                    "--cluster.settle-timeout=5s",
                    "--cluster.peer-timeout=2s",
                ],
                tmp_path,
            )
            peer.wait_http(f"http://127.0.0.1:{web_ports[i]}/-/healthy", timeout=30)

        def cluster_sizes() -> list[int]:
            return [
                len(_get_json(f"http://127.0.0.1:{p}/api/v2/status")["cluster"]["peers"]) for p in web_ports
            ]

        assert wait_until(lambda: cluster_sizes() == [3, 3, 3], timeout=60, interval=0.5), cluster_sizes()
        for port in gossip_ports:
            assert _listening_addresses(port) == {"0100007F"}, (port, _listening_addresses(port))

        def statuses() -> list[str]:
            return [_get_json(f"http://127.0.0.1:{p}/api/v2/status")["cluster"]["status"] for p in web_ports]

        assert wait_until(lambda: statuses() == ["ready"] * 3, timeout=30, interval=0.5), statuses()

        alert = [{"labels": {"alertname": "HaPageOnce", "severity": "critical", "job": "test"}}]
        for port in web_ports:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v2/alerts",
                data=json.dumps(alert).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            urllib.request.urlopen(request, timeout=10).close()
        assert inbox.wait_for_alert("HaPageOnce", timeout=30) is not None
        time.sleep(8)  # peers 2 and 3 would have sent theirs 2 s and 4 s after the first
        pages = [p for path, p in inbox.received if path == "/page"]
        assert len(pages) == 1, pages


def _collector_data(**data: Any) -> dict[str, Any]:
    return {
        **_OFF,
        **_ROUTED,
        "otelcol_enabled": True,
        "otelcol_tempo_otlp_endpoint": f"127.0.0.1:{free_port()}",
        "otelcol_loki_otlp_url": f"http://127.0.0.1:{free_port()}/otlp",
        **data,
    }


def _collector_ports() -> dict[str, int]:
    names = (
        "otelcol_otlp_grpc_port",
        "otelcol_otlp_http_port",
        "otelcol_health_port",
        "otelcol_telemetry_port",
        "otelcol_prometheus_exporter_port",
    )
    return {name: free_port() for name in names}


def _accepted_spans(telemetry_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{telemetry_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("otelcol_receiver_accepted_spans") and 'receiver="otlp"' in line
    )


def _spans(trace_ids: list[str]) -> bytes:
    """OTLP/JSON: one span per trace id, service billing-api."""
    spans = [
        {
            "traceId": t,
            "spanId": f"{i + 1:016x}",
            "name": "GET /",
            "kind": 2,
            "startTimeUnixNano": str(time.time_ns() - 1_000_000),
            "endTimeUnixNano": str(time.time_ns()),
        }
        for i, t in enumerate(trace_ids)
    ]
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "billing-api"}}]
                },
                "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
            }
        ]
    }
    return json.dumps(body).encode()


def test_ha_agent_spreads_traces_over_both_gateways_keeping_each_trace_whole(
    pinned_tool: Callable[[str], str], processes: list[ManagedProcess], tmp_path: Path
) -> None:
    """The agent's load_balancing exporter sends every span of a trace to one gateway, and different
    traces to both; every span sent is accepted by a gateway."""
    gateways = []
    for name in ("gw-a", "gw-b"):
        ports = _collector_ports()
        settings = settings_from_host_data(_collector_data(**ports))
        config = yaml.safe_load(render_otelcol_config(otelcol_settings(settings)))
        config["extensions"]["file_storage"]["directory"] = str(tmp_path / name)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        gw = _start(processes, name, [pinned_tool("otelcol"), f"--config={path}"], tmp_path)
        gw.wait_http(f"http://127.0.0.1:{ports['otelcol_health_port']}/", timeout=30)
        gateways.append(ports)

    agent_ports = _collector_ports()
    agent = settings_from_host_data(
        _collector_data(
            **agent_ports,
            otelcol_role="agent",
            otelcol_gateway_endpoints=[f"127.0.0.1:{g['otelcol_otlp_grpc_port']}" for g in gateways],
        )
    )
    config = yaml.safe_load(render_otelcol_config(otelcol_settings(agent)))
    assert config["exporters"]["load_balancing"]["routing_key"] == "traceID"
    config["extensions"]["file_storage"]["directory"] = str(tmp_path / "agent")
    config["processors"]["batch"]["timeout"] = "200ms"
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = _start(processes, "agent", [pinned_tool("otelcol"), f"--config={path}"], tmp_path)
    proc.wait_http(f"http://127.0.0.1:{agent_ports['otelcol_health_port']}/", timeout=30)

    def send(trace_ids: list[str]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{agent_ports['otelcol_otlp_http_port']}/v1/traces",
            data=_spans(trace_ids),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()

    def accepted() -> list[float]:
        return [_accepted_spans(g["otelcol_telemetry_port"]) for g in gateways]

    # 20 spans of one trace, in 20 requests: all on one gateway.
    one_trace = "5b8efff798038103d269b633813fc60c"
    for _ in range(20):
        send([one_trace])
    assert wait_until(lambda: sum(accepted()) == 20, timeout=30, interval=0.5), (
        accepted(),
        proc.output()[-2000:],
    )
    assert sorted(accepted()) == [0, 20]
    # 200 spans of 200 traces: both gateways get some, and none is lost.
    send([f"{i + 1:032x}" for i in range(200)])
    assert wait_until(lambda: sum(accepted()) == 220, timeout=30, interval=0.5), accepted()
    assert min(accepted()) > 0, accepted()
