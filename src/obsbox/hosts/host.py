"""Boot, reach and stop a throwaway systemd host (docs/architecture.md, Test tiers).

A host is the cached rootfs unpacked into its own directory, booted with systemd as PID 1 in
new pid/mount/uts/ipc/net namespaces, and joined to this machine by a veth pair. Alone, the pair
carries a /30 from 10.213.0.0/16: the host reaches this machine's end and nothing else. For a
multi-host layout (HA: gossip, remote write, alert delivery between hosts) the machine's end is
a port of the bridge `obsbox-br0` instead, and the host takes an address in its /24: hosts reach
each other and the bridge's own address (this machine), and still nothing beyond, since there is
no default route and no NAT. Everything is keyed by a small slot number so several hosts can run
at once.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from obsbox.hosts import image
from obsbox.hosts.cgroups import clear_unit_cgroups
from obsbox.hosts.fs import remove_tree

STATE_ROOT = Path(os.environ.get("OBSBOX_HOST_STATE", "/var/tmp/obsbox-hosts"))
MAX_SLOTS = 64
BOOT_TIMEOUT_S = 90.0
BRIDGE = "obsbox-br0"
BRIDGE_NET = "10.214.0"  # a /24; .1 is this machine, a host in slot N is .(N + 10)
BRIDGE_FIRST_HOST = 10
# Units a bare Debian boot starts that a throwaway host has no use for: each costs memory (or a
# timer firing mid-test), and five or more hosts share a small machine.
UNNEEDED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "man-db.timer",
    "getty@tty1.service",
    "console-getty.service",
    "systemd-logind.service",
)
SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5",
)  # fmt: skip

# Runs inside the new namespaces. The mounts made here are private to the namespace, so they
# vanish with it when PID 1 is killed; `exec` keeps the pid, so the pid we see is systemd's.
# pivot_root rather than chroot: the kernel refuses user namespaces to a chrooted process, which
# would make PrivateUsers= (and anything else that needs one) fail on these hosts but not on a
# real server. The new root is made shared again, as systemd makes it on a real boot (it leaves
# that to the container manager when it sees one): without it LoadCredential= silently hands
# services an empty $CREDENTIALS_DIRECTORY. Shared only within the host's own mount namespace:
# everything was made private first, so nothing propagates back to this machine.
_BOOT_SCRIPT = """
set -e
mount --make-rprivate /
mount --bind "$ROOT" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"
mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
hostname "$NAME"
cd "$ROOT"
mkdir -p .obsbox-oldroot
pivot_root . .obsbox-oldroot
exec /usr/bin/env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c \
  'umount -l /.obsbox-oldroot && rmdir /.obsbox-oldroot && mount --make-rshared / && exec /lib/systemd/systemd --system'
"""


class HostError(RuntimeError):
    """The host could not be booted, reached or stopped."""


@dataclass
class Host:
    """A running throwaway host; `run` executes a shell command on it over SSH as root."""

    name: str
    slot: int
    address: str
    gateway: str
    ssh_key: Path
    pid: int
    started: int  # PID 1's start time in clock ticks: pids are reused, this pair is not
    state_dir: Path
    bridge: str | None = None  # the bridge the host's veth is a port of; None: a /30 of its own

    @property
    def veth(self) -> str:
        return veth_name(self.slot)

    @property
    def rootfs(self) -> Path:
        return self.state_dir / "root"

    def ssh_argv(self, command: str) -> list[str]:
        return ["ssh", *SSH_OPTIONS, "-i", str(self.ssh_key), f"root@{self.address}", command]

    def run(self, command: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.ssh_argv(command), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise HostError(
                f"{self.name}: `{command}` exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def to_json(self) -> str:
        data = asdict(self)
        data["ssh_key"] = str(self.ssh_key)
        data["state_dir"] = str(self.state_dir)
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Host:
        data = json.loads(text)
        data["ssh_key"] = Path(data["ssh_key"])
        data["state_dir"] = Path(data["state_dir"])
        return cls(**data)


def veth_name(slot: int) -> str:
    return f"obx{slot}h"


def _guest_veth(slot: int) -> str:
    return f"obx{slot}g"


def _addresses(slot: int) -> tuple[str, str]:
    """This machine's end and the host's end of the slot's /30."""
    return f"10.213.{slot}.1", f"10.213.{slot}.2"


def bridge_addresses(slot: int) -> tuple[str, str]:
    """The bridge's own address (this machine) and the address of the host in `slot` on it."""
    return f"{BRIDGE_NET}.1", f"{BRIDGE_NET}.{slot + BRIDGE_FIRST_HOST}"


def ensure_bridge(name: str = BRIDGE) -> None:
    """Create the bridge with this machine's address on it, unless it is already there.

    No forwarding and no NAT are set up: the bridge switches frames between its ports, this
    machine answers on its own address, and nothing is routed anywhere else.
    """
    gateway, _ = bridge_addresses(0)
    proc = subprocess.run(["ip", "link", "add", name, "type", "bridge"], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        subprocess.run(["ip", "addr", "add", f"{gateway}/24", "dev", name], check=True)
    elif not Path(f"/sys/class/net/{name}/bridge").exists():
        raise HostError(f"cannot create bridge {name}: {proc.stderr.strip()}")
    subprocess.run(["ip", "link", "set", name, "up"], check=True)


def bridge_ports(name: str = BRIDGE) -> list[str]:
    brif = Path(f"/sys/class/net/{name}/brif")
    return sorted(p.name for p in brif.iterdir()) if brif.exists() else []


def _remove_bridge_if_unused(name: str) -> None:
    """Delete the bridge once its last host has gone, so a finished run leaves no trace."""
    if Path(f"/sys/class/net/{name}").exists() and not bridge_ports(name):
        subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


def _claim_slot() -> int:
    """Create the veth pair of the first free slot; `ip link add` failing means it is taken."""
    for slot in range(MAX_SLOTS):
        proc = subprocess.run(
            ["ip", "link", "add", veth_name(slot), "type", "veth", "peer", "name", _guest_veth(slot)],
            capture_output=True,
            check=False,
        )
        if proc.returncode == 0:
            return slot
    raise HostError(f"all {MAX_SLOTS} host slots are taken (ip link show | grep obx)")


def _child_pid(parent: int, deadline: float) -> int:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    while time.monotonic() < deadline:
        with suppress(FileNotFoundError):
            text = children.read_text().split()
            if text:
                return int(text[0])
        time.sleep(0.05)
    raise HostError(f"unshare (pid {parent}) started no child")


def _prepare_rootfs(rootfs: Path, name: str, key: Path) -> None:
    (rootfs / "etc/hostname").write_text(f"{name}\n")
    for unit in UNNEEDED_UNITS:
        # What `systemctl mask` does, without a running systemd to ask.
        mask = rootfs / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    with (rootfs / "etc/hosts").open("a") as hosts:
        hosts.write(f"127.0.1.1 {name}\n")
    ssh_dir = rootfs / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)


def _wait_until_up(host: Host, deadline: float) -> None:
    """Poll until systemd reports running or degraded and sshd is active."""
    last = ""
    while time.monotonic() < deadline:
        try:
            proc = subprocess.run(
                host.ssh_argv("systemctl is-system-running; systemctl is-active ssh"),
                capture_output=True,
                text=True,
                timeout=15,
                check=False,
            )
        except subprocess.TimeoutExpired:
            last = "ssh timed out"
            continue
        lines = proc.stdout.split()
        last = proc.stdout.strip() or proc.stderr.strip()
        if len(lines) == 2 and lines[0] in ("running", "degraded") and lines[1] == "active":
            return
        time.sleep(0.3)
    raise HostError(f"{host.name} did not come up within {BOOT_TIMEOUT_S:.0f}s (last answer: {last!r})")


def boot_host(name: str = "obsbox-host", bridge: str | None = None) -> Host:
    """Unpack the cached image, boot it and return once SSH answers; the caller must stop it.

    With `bridge` the host joins that bridge (created if missing) instead of a /30 of its own.
    """
    tarball = image.ensure_rootfs_tarball()
    if bridge is not None:
        ensure_bridge(bridge)
    if not _any_host_running():
        clear_unit_cgroups()
    slot = _claim_slot()
    gateway, address = _addresses(slot) if bridge is None else bridge_addresses(slot)
    state_dir = STATE_ROOT / f"{name}-{slot}"
    host: Host | None = None
    try:
        if state_dir.exists():
            remove_tree(state_dir)
        image.unpack(tarball, state_dir / "root")
        key = state_dir / "id_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
        )
        _prepare_rootfs(state_dir / "root", name, key)
        console = (state_dir / "console.log").open("wb")
        unshare = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "sh", "-c", _BOOT_SCRIPT],
            env={**os.environ, "ROOT": str(state_dir / "root"), "NAME": name},
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            # Its own session: an interrupted `make demo` must not take the demo host with it.
            start_new_session=True,
        )
        console.close()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        pid = _child_pid(unshare.pid, deadline)
        host = Host(name, slot, address, gateway, key, pid, _start_time(pid), state_dir, bridge)
        (state_dir / "host.json").write_text(host.to_json())
        _wire_network(host)
        _wait_until_up(host, deadline)
        return host
    except BaseException:
        if host is not None:
            stop_host(host)
        else:
            _delete_veth(slot)
            if bridge is not None:
                _remove_bridge_if_unused(bridge)
            if state_dir.exists():
                remove_tree(state_dir)
        raise


T = TypeVar("T")
R = TypeVar("R")


def _each_in_thread(
    work: Callable[[T], R], items: Sequence[T], thread_name: Callable[[T], str]
) -> tuple[list[R], list[BaseException]]:
    """work(item) for every item at once, a thread each (booting and stopping are mostly waiting):
    the results of the calls that returned, in item order, and what the others raised."""
    results: dict[int, R] = {}
    errors: list[BaseException] = []

    def one(index: int, item: T) -> None:
        try:
            results[index] = work(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller once every item is handled
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i, item), name=thread_name(item)) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in sorted(results)], errors


def boot_hosts(names: list[str], bridge: str = BRIDGE) -> list[Host]:
    """Boot several hosts on one bridge at once (booting is mostly waiting); all or none.

    Slots are claimed one after another (a veth name is the lock), so the threads never race.
    """
    ensure_bridge(bridge)
    hosts, errors = _each_in_thread(lambda name: boot_host(name, bridge), names, lambda name: f"boot-{name}")
    if errors:
        stop_hosts(hosts)
        raise errors[0]
    return hosts


def _wire_network(host: Host) -> None:
    guest = _guest_veth(host.slot)
    subprocess.run(["ip", "link", "set", guest, "netns", str(host.pid)], check=True)
    if host.bridge is None:
        prefix = 30
        subprocess.run(["ip", "addr", "add", f"{host.gateway}/30", "dev", host.veth], check=True)
    else:
        prefix = 24
        subprocess.run(["ip", "link", "set", host.veth, "master", host.bridge], check=True)
    subprocess.run(["ip", "link", "set", host.veth, "up"], check=True)
    # This machine's `ip`, run in the host's network namespace: the image needs no iproute2.
    inside = in_netns(host, "ip")
    subprocess.run([*inside, "link", "set", "lo", "up"], check=True)
    subprocess.run([*inside, "addr", "add", f"{host.address}/{prefix}", "dev", guest], check=True)
    subprocess.run([*inside, "link", "set", guest, "up"], check=True)


def in_netns(host: Host, *argv: str) -> list[str]:
    """argv run by this machine's tools inside the host's network namespace (ip, nft)."""
    return ["nsenter", "-t", str(host.pid), "-n", *argv]


def _delete_veth(slot: int) -> None:
    subprocess.run(["ip", "link", "del", veth_name(slot)], capture_output=True, check=False)


def _start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_alive(host: Host) -> bool:
    """True while the host's PID 1 is still the process we booted."""
    try:
        return _start_time(host.pid) == host.started
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return False


def stop_host(host: Host, timeout: float = 30.0) -> None:
    """Kill the host's PID 1 (its namespaces and mounts die with it), the veth and the rootfs."""
    if is_alive(host):
        with suppress(ProcessLookupError):
            os.kill(host.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while is_alive(host) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(host):
        raise HostError(f"{host.name}: PID 1 ({host.pid}) survived SIGKILL for {timeout:.0f}s")
    _delete_veth(host.slot)
    if host.bridge is not None:
        _remove_bridge_if_unused(host.bridge)
    if host.state_dir.exists():
        remove_tree(host.state_dir)
    if not _any_host_running():
        clear_unit_cgroups()


def _any_host_running() -> bool:
    """Whether a host of this machine still has its veth (each host holds one while it runs)."""
    return any(name.startswith("obx") for name in os.listdir("/sys/class/net"))


@contextmanager
def throwaway_host(name: str = "obsbox-host", bridge: str | None = None) -> Iterator[Host]:
    """Boot a host for the duration of the block and remove every trace of it afterwards."""
    host = boot_host(name, bridge)
    try:
        yield host
    finally:
        stop_host(host)


@contextmanager
def throwaway_hosts(names: list[str], bridge: str = BRIDGE) -> Iterator[list[Host]]:
    """Boot hosts on one bridge for the duration of the block; every one is removed afterwards."""
    hosts = boot_hosts(names, bridge)
    try:
        yield hosts
    finally:
        stop_hosts(hosts)


def stop_hosts(hosts: list[Host]) -> None:
    """Stop hosts in parallel: removing a rootfs is mostly waiting on the disk."""
    _, errors = _each_in_thread(stop_host, hosts, lambda host: f"stop-{host.name}")
    if errors:
        raise errors[0]


def ssh_command_line(host: Host) -> str:
    return shlex.join(host.ssh_argv("")[:-1])
