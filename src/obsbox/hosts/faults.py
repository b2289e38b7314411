"""Faults injected into throwaway hosts: a killed service, a network partition, a cut cable.

Everything runs from this machine: nftables rules go into the host's own network namespace with
this machine's `nft` (nsenter), so the host image needs neither nft nor iproute2, and a rule can
never leak onto this machine's own interfaces. Every fault has its undo; the tests undo them in
`finally` blocks so a failing assertion leaves no host half-partitioned.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

from obsbox.hosts.host import Host, HostError, in_netns

FAULT_TABLE = "obsbox_fault"


def partition_rules(peers: Iterable[str], ports: Iterable[int]) -> str:
    """An nft script dropping every TCP and UDP packet to or from `peers` on `ports` (pure).

    Both directions and both port fields: a connection the host opens to a peer's port and one a
    peer opens to the host's port are both cut, whichever side sends first.
    """
    peer_set = ", ".join(sorted(set(peers)))
    port_set = ", ".join(str(p) for p in sorted(set(ports)))
    if not peer_set or not port_set:
        raise ValueError("a partition needs at least one peer address and one port")
    return (
        f"table inet {FAULT_TABLE} {{\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    ip saddr {{ {peer_set} }} meta l4proto {{ tcp, udp }} th dport {{ {port_set} }} drop\n"
        f"    ip saddr {{ {peer_set} }} meta l4proto {{ tcp, udp }} th sport {{ {port_set} }} drop\n"
        "  }\n"
        "  chain output {\n"
        "    type filter hook output priority 0; policy accept;\n"
        f"    ip daddr {{ {peer_set} }} meta l4proto {{ tcp, udp }} th dport {{ {port_set} }} drop\n"
        f"    ip daddr {{ {peer_set} }} meta l4proto {{ tcp, udp }} th sport {{ {port_set} }} drop\n"
        "  }\n"
        "}\n"
    )


def _nft(host: Host, *args: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        in_netns(host, "nft", *args), input=script, capture_output=True, text=True, check=False
    )


def partition(host: Host, peers: Iterable[str], ports: Iterable[int]) -> None:
    """Cut `host` off from `peers` on `ports` (e.g. Alertmanager's gossip port), nothing else."""
    heal(host)
    proc = _nft(host, "-f", "-", script=partition_rules(peers, ports))
    if proc.returncode != 0:
        raise HostError(f"{host.name}: nft refused the partition rules: {proc.stderr.strip()}")


def heal(host: Host) -> None:
    """Remove every partition rule from the host (a no-op when there is none)."""
    if _nft(host, "list", "table", "inet", FAULT_TABLE).returncode == 0:
        proc = _nft(host, "delete", "table", "inet", FAULT_TABLE)
        if proc.returncode != 0:
            raise HostError(f"{host.name}: could not delete the partition rules: {proc.stderr.strip()}")


def unplug(host: Host) -> None:
    """Take the host's veth down on this machine's side: the host is gone from the network."""
    subprocess.run(["ip", "link", "set", host.veth, "down"], check=True)


def plug(host: Host) -> None:
    subprocess.run(["ip", "link", "set", host.veth, "up"], check=True)


def kill_unit(host: Host, unit: str) -> None:
    """SIGKILL every process of the unit and keep it down (no Restart= bringing it back)."""
    # kill first: a crash, not a clean shutdown; the stop then cancels the pending restart.
    host.run(f"systemctl kill --signal=SIGKILL {unit}; systemctl stop {unit}")
    state = host.run(f"systemctl is-active {unit}", check=False).stdout.strip()
    if state not in ("inactive", "failed"):
        raise HostError(f"{host.name}: {unit} is {state} after being killed")


def start_unit(host: Host, unit: str) -> None:
    host.run(f"systemctl reset-failed {unit} 2>/dev/null; systemctl start {unit}")
