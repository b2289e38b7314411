"""A change to the HA inventory rolls through the Prometheus replicas one host at a time: the second
replica is stopped only after the first is back and ready (docs/ha.md, Rolling changes)."""

from __future__ import annotations

import copy
import json

from obsbox.hosts.ha_cluster import HaCluster, converge_inventory, write_inventory

REPLICAS = ("prom-a", "prom-b")
READY_MESSAGE = "Server is ready to receive web requests."


def _stopped_at(ha: HaCluster, role: str) -> int:
    """CLOCK_MONOTONIC (µs, one kernel for every host) at which prometheus.service last went down."""
    out = (
        ha.hosts[role]
        .run("systemctl show prometheus.service -p InactiveEnterTimestampMonotonic --value")
        .stdout
    )
    return int(out.strip())


def _ready_after(ha: HaCluster, role: str, since_us: int) -> int:
    """CLOCK_MONOTONIC (µs) of the first "ready" log line of prometheus.service after since_us."""
    out = ha.hosts[role].run("journalctl -u prometheus.service -o json --no-pager -n 400").stdout
    times = [
        int(entry["__MONOTONIC_TIMESTAMP"])
        for entry in map(json.loads, out.splitlines())
        if READY_MESSAGE in str(entry.get("MESSAGE", "")) and int(entry["__MONOTONIC_TIMESTAMP"]) > since_us
    ]
    assert times, f"{role}: no {READY_MESSAGE!r} after its restart"
    return min(times)


def test_ha_prometheus_restart_rolls_one_replica_at_a_time(ha_cluster: HaCluster, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """A flag change restarts both replicas, the second only after the first is ready again; the
    original inventory then converges back."""
    assert ha_cluster.first.ok, ha_cluster.first.output[-5000:]
    before = {role: _stopped_at(ha_cluster, role) for role in REPLICAS}
    changed = copy.deepcopy(ha_cluster.groups)
    for _name, data in changed["ha_replicas"]:
        # --storage.tsdb.retention.size is on the command line: a new unit, so a restart.
        data["prometheus_retention_size"] = "9GB"
    keys = {host.address: host.ssh_key for host in ha_cluster.hosts.values()}
    inventory = write_inventory(tmp_path_factory.mktemp("rolling"), changed, keys)
    try:
        result = converge_inventory(inventory)
        assert result.ok, result.output[-5000:]
        stopped = {role: _stopped_at(ha_cluster, role) for role in REPLICAS}
        assert all(stopped[r] > before[r] for r in REPLICAS), (before, stopped)
        first, second = sorted(REPLICAS, key=lambda r: stopped[r])
        first_ready = _ready_after(ha_cluster, first, stopped[first])
        assert stopped[second] > first_ready, (
            f"{second} went down {(first_ready - stopped[second]) / 1e6:.2f} s before {first} was ready again"
        )
    finally:
        back = converge_inventory(ha_cluster.inventory)
    assert back.ok, back.output[-5000:]
