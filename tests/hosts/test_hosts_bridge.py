"""Hosts on the shared bridge: they reach each other and this machine, nothing beyond; the fault
helpers (partition, unplug, killed unit) do what the HA fault tests rely on."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from obsbox.hosts import faults
from obsbox.hosts.host import BRIDGE, Host, boot_host, bridge_ports, stop_host, throwaway_hosts
from obsbox.hosts.webhook import webhook_receiver

PROBE_PORT = 9094  # Alertmanager's gossip port: the one the HA partition test cuts


def test_single_host_path_keeps_its_own_slash30() -> None:
    """A host booted without a bridge still gets a /30 of its own, not a bridge port."""
    host = boot_host("obsbox-t4-solo")
    try:
        assert host.bridge is None
        assert host.address.startswith("10.213.")
        assert host.veth not in bridge_ports()
    finally:
        stop_host(host)


def test_bridge_is_removed_with_its_last_host() -> None:
    """Stopping the last host on the bridge deletes the bridge (a finished run leaves no link);
    while other hosts are on it (another session's cluster), it stays."""
    others = bridge_ports(BRIDGE)
    host = boot_host("obsbox-t4-brlast", bridge=BRIDGE)
    try:
        assert host.veth in bridge_ports(BRIDGE)
    finally:
        stop_host(host)
    assert host.veth not in bridge_ports(BRIDGE)
    exists = subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True, check=False).returncode == 0
    assert exists == bool(others), others


@pytest.fixture(scope="module")
def pair() -> Iterator[list[Host]]:
    with throwaway_hosts(["obsbox-t4-br-a", "obsbox-t4-br-b"]) as hosts:
        for host in hosts:
            # A plain TCP listener on the probe port, as a transient unit so it dies with the host.
            host.run(
                f"systemd-run --unit=probe-listener python3 -c "
                f"'import socket,time; s=socket.socket(); s.bind((\"0.0.0.0\",{PROBE_PORT})); s.listen(); "
                f"[c.close() for c in iter(lambda: s.accept()[0], None)]'"
            )
        yield hosts


def _connects(src: Host, address: str, port: int) -> bool:
    """Whether `src` completes a TCP handshake with address:port within 3 s."""
    code = (
        f"import socket; socket.create_connection(('{address}', {port}), 3).close()"
    )
    return src.run(f'python3 -c "{code}"', check=False, timeout=30).returncode == 0


def test_bridge_hosts_have_only_the_bridge_route(pair: list[Host]) -> None:
    """Each host's one route is the bridge's /24: no default route, so nothing leaves it."""
    for host in pair:
        table = host.run("cat /proc/net/route").stdout.splitlines()[1:]
        assert len(table) == 1, table
        cells = table[0].split()  # Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        assert cells[1] == "0000D60A"  # 10.214.0.0, little-endian
        assert cells[7] == "00FFFFFF"
    assert {h.gateway for h in pair} == {"10.214.0.1"}
    assert {h.veth for h in pair} <= set(bridge_ports())


def test_bridge_hosts_reach_each_other(pair: list[Host]) -> None:
    """Host A reaches host B's listener and B reaches A's: the HA layout's gossip path."""
    a, b = pair
    assert _connects(a, b.address, PROBE_PORT)
    assert _connects(b, a.address, PROBE_PORT)


def test_bridge_hosts_reach_this_machine(pair: list[Host]) -> None:
    """A webhook receiver on the bridge's own address gets a POST from a host (alert delivery)."""
    a, _ = pair
    with webhook_receiver(a.gateway) as (url, inbox):
        a.run(f"curl -fsS -X POST -H 'Content-Type: application/json' -d '{{\"alerts\": []}}' {url}/page")
        assert inbox.received == [("/page", {"alerts": []})]


def test_partition_cuts_only_the_given_port_and_heals(pair: list[Host]) -> None:
    """A partition on the probe port cuts A from B on that port only, both ways, until healed."""
    a, b = pair
    faults.partition(a, [b.address], [PROBE_PORT])
    try:
        assert not _connects(a, b.address, PROBE_PORT)
        assert not _connects(b, a.address, PROBE_PORT)
        assert _connects(a, b.address, 22)  # other ports still pass
    finally:
        faults.heal(a)
    assert _connects(a, b.address, PROBE_PORT)
    assert _connects(b, a.address, PROBE_PORT)


def test_unplugged_host_is_unreachable_until_plugged(pair: list[Host]) -> None:
    """Unplugging takes a host off the bridge (this machine cannot reach it either) and back."""
    a, b = pair
    faults.unplug(b)
    try:
        assert not _connects(a, b.address, PROBE_PORT)
    finally:
        faults.plug(b)
    assert _connects(a, b.address, PROBE_PORT)


def test_killed_unit_stays_down_until_started(pair: list[Host]) -> None:
    """kill_unit SIGKILLs a unit and keeps it down; start_unit brings it back."""
    a, b = pair
    b.run("systemd-run --unit=probe-restarting --property=Restart=always sleep 600")
    faults.kill_unit(b, "probe-restarting")
    assert b.run("systemctl is-active probe-restarting", check=False).stdout.strip() in ("inactive", "failed")
    assert b.run("pgrep -x sleep", check=False).returncode != 0
