"""The throwaway host harness itself: boot, isolation, SSH + pyinfra, teardown."""

from __future__ import annotations

import subprocess
from pathlib import Path

from obsbox.hosts import Host, boot_host
from obsbox.hosts.converge import converge
from obsbox.hosts.host import is_alive, stop_host

HARNESS_DEPLOY = Path(__file__).parent / "deploys" / "hardened_unit.py"


def test_host_boots_systemd_as_pid1(booted_host: Host) -> None:
    """The host runs systemd as its PID 1 and reports itself running (or degraded) over SSH."""
    out = booted_host.run("cat /proc/1/comm; systemctl is-system-running || true").stdout.split()
    assert out[0] == "systemd"
    assert out[1] in ("running", "degraded")


def test_host_has_no_route_out(booted_host: Host) -> None:
    """The host's only route is its /30 to this machine: no default route, so nothing leaves it."""
    table = booted_host.run("cat /proc/net/route").stdout.splitlines()[1:]
    destinations = {line.split()[1] for line in table}
    assert "00000000" not in destinations
    assert len(table) == 1


def test_pyinfra_deploy_converges_and_reruns_without_changes(booted_host: Host) -> None:
    """A pyinfra deploy over SSH starts a hardened unit, and running it again changes nothing."""
    first = converge(booted_host, HARNESS_DEPLOY)
    assert first.ok, first.output
    assert first.changed >= 2
    second = converge(booted_host, HARNESS_DEPLOY)
    assert second.ok, second.output
    assert second.changed == 0, second.output
    assert booted_host.run("systemctl is-active obsbox-probe.service").stdout.strip() == "active"


def test_user_namespaces_work_for_units(booted_host: Host) -> None:
    """PrivateUsers= works on the host (it boots with pivot_root, not chroot, like a real server)."""
    converge(booted_host, HARNESS_DEPLOY)
    show = booted_host.run("systemctl show -p PrivateUsers -p ActiveState obsbox-probe.service").stdout
    assert "PrivateUsers=yes" in show
    assert "ActiveState=active" in show


def test_stopping_a_host_removes_every_trace() -> None:
    """Stopping a host kills its PID 1 and deletes its veth pair and its rootfs copy."""
    host = boot_host("obsbox-t4-stop")
    try:
        assert is_alive(host)
    finally:
        stop_host(host)
    assert not is_alive(host)
    link = subprocess.run(["ip", "link", "show", host.veth], capture_output=True, check=False)
    assert link.returncode != 0
    assert not host.state_dir.exists()


def test_load_credential_reaches_an_unprivileged_unit(booted_host: Host) -> None:
    """LoadCredential= hands a DynamicUser service its secret (the collector's bearer token relies
    on it); it did not while the host's root was left a private mount."""
    out = booted_host.run(
        "systemd-run --wait --pipe -q -p LoadCredential=probe:/etc/hostname -p DynamicUser=yes "
        "-p PrivateUsers=yes sh -c 'id -u; cat \"$CREDENTIALS_DIRECTORY/probe\"'"
    ).stdout.split()
    assert out[0] != "0"
    assert out[1] == booted_host.name
