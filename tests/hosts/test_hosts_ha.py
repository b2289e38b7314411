"""The HA layout (deploy/inventories/ha.py's ha_inventory) on six throwaway hosts on one bridge,
with faults injected: a killed Alertmanager peer, a gossip partition, a killed Prometheus
replica, a restarted long-term store, a killed gateway collector (docs/ha.md, docs/sizing.md).

Every alert here is a drill: a gauge served on this machine that both replicas scrape; raising
it fires that drill's alert (its own Alertmanager group), so each test counts exactly the pages
its own fault produced. Tests undo their fault in `finally`, so a failure leaves the cluster whole
for the next one.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest

from obsbox.hosts import faults
from obsbox.hosts.ha_cluster import HaCluster, converge_inventory
from obsbox.hosts.spans import parse_counters, read_counters, send_spans
from obsbox.hosts.webhook import Inbox

PAGE_TIMEOUT_S = 120.0
# After the first page: Alertmanager's group_interval (10 s here) plus two peer_timeouts (15 s
# each, the wait of the 2nd and 3rd peer before they send what the 1st has not): any duplicate
# would have arrived by then.
DUPLICATE_WINDOW_S = 45.0
SCRAPE_S = 2  # FAST_ALERTING's scrape interval, the store's dedup interval too
GAP_STEP_S = 10  # no 10 s window of the store may be empty
VM_LATENCY_OFFSET_S = 30  # VictoriaMetrics hides the newest 30 s from queries (-search.latencyOffset)


def _get(url: str, auth: tuple[str, str] | None = None, timeout: float = 15) -> Any:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _am_status(ha: HaCluster, role: str) -> dict[str, Any]:
    return _get(f"http://{ha.hosts[role].address}:9093/api/v2/status", ("obsbox", ha.creds.alertmanager))


def _alertmanager_roles(ha: HaCluster) -> list[str]:
    return [role for role in ha.hosts if ha.data(role).get("alertmanager_enabled")]


def _wait_cluster_whole(ha: HaCluster, timeout: float = 90) -> None:
    """Until every peer is ready and sees all three."""
    roles = _alertmanager_roles(ha)
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            last = {r: _am_status(ha, r)["cluster"] for r in roles}
        except OSError:
            time.sleep(2)
            continue
        if all(c["status"] == "ready" and len(c.get("peers") or []) == len(roles) for c in last.values()):
            return
        time.sleep(2)
    raise AssertionError(f"the Alertmanager cluster did not re-form within {timeout:.0f}s: {last}")


def _firing_notifications(inbox: Inbox, alertname: str) -> int:
    """Notifications (webhook POSTs) that carry `alertname` as firing."""
    with inbox.lock:
        return sum(
            1
            for _path, payload in inbox.received
            if any(
                a.get("labels", {}).get("alertname") == alertname and a.get("status") == "firing"
                for a in payload.get("alerts", [])
            )
        )


def _drill(ha: HaCluster, drill: str) -> tuple[str, dict[str, Any]]:
    """Raise the drill's gauge and wait for its page; return (path, alert)."""
    ha.drill.set(drill, 1)
    got = ha.inbox.wait_for_alert(f"HaDrill{drill}", timeout=PAGE_TIMEOUT_S)
    assert got is not None, f"no page for {drill} within {PAGE_TIMEOUT_S:.0f}s; received {len(ha.inbox.received)}"
    return got


def _vm_windows(ha: HaCluster, query: str, start: float, end: float) -> dict[str, list[float]]:
    """count_over_time of `query` in every GAP_STEP_S window of [start, end] from VictoriaMetrics'
    query_range: {series: [count per window]}."""
    params = urllib.parse.urlencode(
        {"query": f"count_over_time(({query})[{GAP_STEP_S}s])", "start": f"{start:.0f}", "end": f"{end:.0f}", "step": f"{GAP_STEP_S}s"}
    )
    data = _get(f"http://{ha.hosts['store'].address}:8428/api/v1/query_range?{params}")
    assert data["status"] == "success", data
    result = data["data"]["result"]
    stamps = [int(float(t)) for series in result for t, _ in series["values"]]
    if not stamps:
        return {}
    # The grid VictoriaMetrics aligned the steps to; its ends must reach the asked window's ends,
    # so a gap at the start or the end of the window counts like one in the middle.
    first, last = min(stamps), max(stamps)
    assert first <= start + GAP_STEP_S and last >= end - GAP_STEP_S, (start, end, first, last)
    grid = range(first, last + 1, GAP_STEP_S)
    out = {}
    for series in result:
        by_time = {int(float(t)): float(v) for t, v in series["values"]}
        out[json.dumps(series["metric"], sort_keys=True)] = [by_time.get(t, 0.0) for t in grid]
    return out


def _assert_no_gap(ha: HaCluster, query: str, start: float, end: float) -> dict[str, list[float]]:
    windows = _vm_windows(ha, query, start, end)
    assert windows, f"the store has no series for {query}"
    for series, counts in windows.items():
        empty = [i for i, c in enumerate(counts) if c < 1]
        assert not empty, f"{series}: empty {GAP_STEP_S}s windows at {empty} of {len(counts)}: {counts}"
    return windows


def _rw_counters(ha: HaCluster, role: str) -> dict[str, float]:
    names = (
        "prometheus_remote_storage_samples_total",
        "prometheus_remote_storage_samples_failed_total",
        "prometheus_remote_storage_samples_dropped_total",
        "prometheus_remote_storage_highest_timestamp_in_seconds",
        "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
    )
    request = urllib.request.Request(f"http://{ha.hosts[role].address}:9090/metrics")
    token = base64.b64encode(f"obsbox:{ha.creds.prometheus}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=15) as response:
        return parse_counters(response.read().decode(), names)


def test_ha_inventory_converges_and_second_run_changes_nothing(ha_cluster: HaCluster) -> None:
    """The HA inventory converges on all six hosts; running it again changes nothing anywhere."""
    assert ha_cluster.first.ok, ha_cluster.first.output[-5000:]
    again = converge_inventory(ha_cluster.inventory)
    assert again.ok, again.output[-5000:]
    assert again.changed == 0, again.output[-5000:]
    for role, unit in (("prom-a", "prometheus"), ("prom-b", "prometheus"), ("store", "victoriametrics"),
                       ("prom-a", "alertmanager"), ("prom-b", "alertmanager"), ("store", "alertmanager"),
                       ("gw-a", "otelcol"), ("gw-b", "otelcol"), ("app-1", "otelcol")):  # fmt: skip
        state = ha_cluster.hosts[role].run(f"systemctl is-active {unit}.service", check=False).stdout.strip()
        assert state == "active", (role, unit)
    _wait_cluster_whole(ha_cluster)


def test_killed_alertmanager_peer_pages_exactly_once(ha_cluster: HaCluster) -> None:
    """With the first-positioned Alertmanager peer SIGKILLed, a firing alert pages exactly once."""
    ha = ha_cluster
    _wait_cluster_whole(ha)
    # The peer that would send first (peers are ordered by name); the next must take over.
    status = _am_status(ha, "store")["cluster"]
    first_address = sorted(status["peers"], key=lambda p: p["name"])[0]["address"].rsplit(":", 1)[0]
    (victim,) = (r for r in _alertmanager_roles(ha) if ha.hosts[r].address == first_address)
    faults.kill_unit(ha.hosts[victim], "alertmanager.service")
    try:
        _drill(ha, "AlertmanagerPeerKilled")
        time.sleep(DUPLICATE_WINDOW_S)
        assert _firing_notifications(ha.inbox, "HaDrillAlertmanagerPeerKilled") == 1, victim
    finally:
        ha.drill.set("AlertmanagerPeerKilled", 0)
        faults.start_unit(ha.hosts[victim], "alertmanager.service")
    _wait_cluster_whole(ha)


def test_partitioned_alertmanager_peers_duplicate_at_most(ha_cluster: HaCluster) -> None:
    """With one peer cut off the other two's gossip port, a firing alert pages at least once and at
    most once per side of the partition: duplicates at most, never a lost page."""
    ha = ha_cluster
    _wait_cluster_whole(ha)
    store = ha.hosts["store"]
    others = [ha.hosts[r].address for r in _alertmanager_roles(ha) if r != "store"]
    faults.partition(store, others, [9094])
    try:
        _drill(ha, "AlertmanagerPartitioned")
        time.sleep(DUPLICATE_WINDOW_S)
        pages = _firing_notifications(ha.inbox, "HaDrillAlertmanagerPartitioned")
        print(f"partition: {pages} page(s) for one alert")
        assert 1 <= pages <= 2, pages
    finally:
        ha.drill.set("AlertmanagerPartitioned", 0)
        faults.heal(store)
    _wait_cluster_whole(ha, timeout=120)


def test_killed_prometheus_replica_alerts_continue_and_store_has_no_gap(ha_cluster: HaCluster) -> None:
    """With one replica SIGKILLed, the other still pages, and the long-term store's series (the
    replicas deduplicated) have a sample in every 10 s window across the kill."""
    ha = ha_cluster
    before = time.time() - 60
    faults.kill_unit(ha.hosts["prom-a"], "prometheus.service")
    killed = time.time()
    try:
        path, alert = _drill(ha, "PrometheusReplicaKilled")
        assert path == "/page"
        assert "replica" not in alert["labels"]  # dropped before alerting: one alert, not two
        # A minute of store data written by prom-b alone, plus the store's query latency offset.
        time.sleep(max(0.0, killed + 60 + VM_LATENCY_OFFSET_S + 5 - time.time()))
        windows = _assert_no_gap(ha, 'up{job="node"}', before, time.time() - VM_LATENCY_OFFSET_S - 5)
        assert len(windows) == len(ha.hosts)  # every host's node_exporter, once (no replica label)
    finally:
        ha.drill.set("PrometheusReplicaKilled", 0)
        faults.start_unit(ha.hosts["prom-a"], "prometheus.service")


def test_restarted_store_remote_write_catches_up_with_nothing_lost(ha_cluster: HaCluster) -> None:
    """The store down for 30 s and back: both replicas' remote write drains its backlog, no sample
    is failed or dropped, and the store has every 10 s window of the outage."""
    ha = ha_cluster
    replicas = ("prom-a", "prom-b")
    for role in replicas:
        ha.hosts[role].run("systemctl is-active prometheus.service")  # the previous test restarted prom-a
    before = {r: _rw_counters(ha, r) for r in replicas}
    store = ha.hosts["store"]
    start = time.time() - 30
    store.run("systemctl stop victoriametrics.service")
    try:
        time.sleep(30)
    finally:
        store.run("systemctl start victoriametrics.service")
    back = time.time()
    deadline = back + 120
    lag = {}
    while time.time() < deadline:
        now = {r: _rw_counters(ha, r) for r in replicas}
        lag = {
            r: now[r]["prometheus_remote_storage_highest_timestamp_in_seconds"]
            - now[r]["prometheus_remote_storage_queue_highest_sent_timestamp_seconds"]
            for r in replicas
        }
        if all(v <= 2 * SCRAPE_S + 5 for v in lag.values()) and all(
            now[r]["prometheus_remote_storage_queue_highest_sent_timestamp_seconds"] > back for r in replicas
        ):
            break
        time.sleep(2)
    else:
        raise AssertionError(f"remote write did not catch up within 120 s: lag {lag}")
    after = {r: _rw_counters(ha, r) for r in replicas}
    for r in replicas:
        for name in ("prometheus_remote_storage_samples_failed_total", "prometheus_remote_storage_samples_dropped_total"):
            assert after[r][name] == before[r][name], (r, name, before[r][name], after[r][name])
        assert after[r]["prometheus_remote_storage_samples_total"] > before[r]["prometheus_remote_storage_samples_total"]
    time.sleep(max(0.0, back + 30 + VM_LATENCY_OFFSET_S + 5 - time.time()))
    windows = _assert_no_gap(ha, 'up{job="node"}', start, time.time() - VM_LATENCY_OFFSET_S - 5)
    # Nothing lost: every window holds (about) one sample per scrape, the outage's as many as the rest.
    for series, counts in windows.items():
        assert min(counts) >= GAP_STEP_S / SCRAPE_S - 2, (series, counts)


def test_killed_gateway_spans_sent_equal_spans_received(ha_cluster: HaCluster) -> None:
    """Spans sent to the agent while one gateway is SIGKILLed (and then started again) all reach
    the gateways; whatever did not is counted by the agent's send_failed counter."""
    ha = ha_cluster
    agent = ha.hosts["app-1"].address
    url = f"http://{agent}:4318/v1/traces"
    token = ha.creds.otlp_token
    received = ("otelcol_receiver_accepted_spans",)
    agent_names = ("otelcol_receiver_accepted_spans", "otelcol_exporter_sent_spans", "otelcol_exporter_send_failed_spans",
                   "otelcol_exporter_enqueue_failed_spans")  # fmt: skip

    def gateway_received(role: str) -> float:
        return read_counters(f"http://{ha.hosts[role].address}:8888/metrics", received)[received[0]]

    def agent_counters() -> dict[str, float]:
        return read_counters(f"http://{agent}:8888/metrics", agent_names)

    agent_before = agent_counters()
    gw_before = {r: gateway_received(r) for r in ("gw-a", "gw-b")}
    sent = send_spans(url, token, batches=20, per_batch=50)
    # Everything so far delivered before the kill, so gw-a's counter (lost with its process) is read whole.
    _wait_for(lambda: sum(gateway_received(r) for r in gw_before) - sum(gw_before.values()) >= sent, 60, "first spans")
    gw_a_before_kill = gateway_received("gw-a") - gw_before["gw-a"]
    faults.kill_unit(ha.hosts["gw-a"], "otelcol.service")
    try:
        sent += send_spans(url, token, batches=20, per_batch=50)
        time.sleep(5)
    finally:
        faults.start_unit(ha.hosts["gw-a"], "otelcol.service")
    sent += send_spans(url, token, batches=10, per_batch=50)
    assert sent == 50 * 50  # the agent accepted every request: the kill is behind it

    def delivered() -> float:
        return gw_a_before_kill + gateway_received("gw-a") + gateway_received("gw-b") - gw_before["gw-b"]

    def accounted() -> bool:
        a = agent_counters()
        failed = a["otelcol_exporter_send_failed_spans"] - agent_before["otelcol_exporter_send_failed_spans"]
        return delivered() + failed >= sent

    _wait_for(accounted, 180, "spans delivered or counted as failed")
    a = agent_counters()
    assert a["otelcol_receiver_accepted_spans"] - agent_before["otelcol_receiver_accepted_spans"] == sent
    failed = a["otelcol_exporter_send_failed_spans"] - agent_before["otelcol_exporter_send_failed_spans"]
    # The gateway came back long before the retry limit (gateway_retry_max_elapsed, 5m): nothing lost.
    print(f"gateway kill: sent={sent} received={delivered():.0f} send_failed={failed:.0f}")
    assert delivered() == sent, (delivered(), sent, failed)
    assert failed == 0


def _wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")


@pytest.fixture(autouse=True)
def _no_leftover_partition(ha_cluster: HaCluster) -> None:
    """A test that died mid-partition must not cut the next one's gossip."""
    for host in ha_cluster.hosts.values():
        faults.heal(host)
