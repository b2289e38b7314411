"""The HA layout (obsbox.deploy.ha, docs/ha.md) converged onto throwaway hosts on one bridge.

One host per role of ``obsbox.deploy.ha.ROLES``, booted together on ``obsbox-br0``; the
inventory is what ``ha_inventory`` returns for their addresses (the layout shipped), written out
as a pyinfra inventory file and run with the pyinfra CLI. This machine's address on the bridge
serves the local mirror, the webhook receiver every Alertmanager peer pages, and a "drill"
target both Prometheus replicas scrape, whose gauge a test raises to make an alert fire on
demand. Loki, Tempo and Grafana have no release obtainable here; they are switched off on the
store host, never faked (the gateways' trace export to Tempo then has nowhere to go; the tests
count spans at the gateways' receivers).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from obsbox.binaries.catalog import COLLECTOR_DISTRIBUTION
from obsbox.deploy.ha import GROUPS, ROLES, ha_inventory
from obsbox.hosts.converge import ConvergeResult, parse_totals
from obsbox.hosts.host import BRIDGE_NET, Host, throwaway_hosts
from obsbox.hosts.mirror import archive_name, release_dir, serve_mirror
from obsbox.hosts.serve import serving
from obsbox.hosts.stack import FAST_ALERTING, INSTALLABLE, StackPlan
from obsbox.hosts.webhook import Inbox, webhook_receiver

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY_DIR = REPO_ROOT / "deploy"
NOT_OBTAINABLE = ("loki", "tempo", "grafana")
DRILL_JOB = "ha-drill"
DRILL_METRIC = "obsbox_ha_drill_firing"
# One alert per drill: Alertmanager groups by (alertname, job), so each drill is its own group
# and one drill's notifications never carry another's alert.
DRILLS = ("AlertmanagerPeerKilled", "AlertmanagerPartitioned", "PrometheusReplicaKilled", "Baseline")
BRIDGE_CIDR = f"{BRIDGE_NET}.0/24"
HA_INSTALLABLE = (*INSTALLABLE, "victoriametrics")


def plan_ha(mirror_root: Path, versions: Mapping[str, str]) -> StackPlan:
    """Every component the HA layout needs and the mirror holds; the test fails on a missing one."""
    present = {
        name: version
        for name, version in versions.items()
        if name in HA_INSTALLABLE and (mirror_root / release_dir(name, version) / archive_name(name, version)).exists()
    }
    missing = [c for c in HA_INSTALLABLE if c not in present]
    if missing:
        raise RuntimeError(f"the mirror {mirror_root} lacks {', '.join(missing)} (obsbox binaries build makes them)")
    return StackPlan(present, NOT_OBTAINABLE)


def drill_rules() -> str:
    """A rule file with one alert per drill, firing as soon as the drill's gauge is 1."""
    rules = "".join(
        f"      - alert: HaDrill{name}\n"
        f'        expr: {DRILL_METRIC}{{drill="{name}"}} == 1\n'
        "        labels:\n"
        "          severity: critical\n"
        "        annotations:\n"
        f'          summary: "HA fault drill {name}"\n'
        for name in DRILLS
    )
    return f"groups:\n  - name: ha-drill\n    rules:\n{rules}"


@dataclass
class DrillTarget:
    """Gauges a scrape target on this machine exposes: drill name -> 0 or 1."""

    firing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DRILLS, 0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, drill: str, value: int) -> None:
        if drill not in self.firing:
            raise KeyError(f"unknown drill {drill!r}; drills: {', '.join(DRILLS)}")
        with self.lock:
            self.firing[drill] = value

    def exposition(self) -> bytes:
        with self.lock:
            lines = [f'{DRILL_METRIC}{{drill="{d}"}} {v}\n' for d, v in sorted(self.firing.items())]
        return f"# TYPE {DRILL_METRIC} gauge\n{''.join(lines)}".encode()


@contextmanager
def serve_drill_target(address: str) -> Iterator[tuple[str, DrillTarget]]:
    """Serve the drill gauges on address (the bridge's own address); yield (host:port, target)."""
    target = DrillTarget()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            body = target.exposition()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    with serving(address, 0, Handler, "drill-target") as port:
        yield f"{address}:{port}", target


@dataclass(frozen=True)
class Secrets:
    prometheus: str
    alertmanager: str
    node_exporter: str
    otlp_token: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(*(secrets.token_urlsafe(24) for _ in range(4)))


def cluster_groups(
    addresses: Mapping[str, str],
    mirror_url: str,
    plan: StackPlan,
    webhook_url: str,
    drill_address: str,
    rules_dir: Path,
    creds: Secrets,
    extra: Mapping[str, object] | None = None,
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """ha_inventory for the hosts' addresses plus what the test bed adds (pure)."""
    common: dict[str, Any] = {
        "obsbox_artifact_base_url": mirror_url,
        "otelcol_distribution": COLLECTOR_DISTRIBUTION,
        "obsbox_ip_address_allow": ["127.0.0.0/8", "::1/128", BRIDGE_CIDR],
        "prometheus_basic_auth_password": creds.prometheus,
        "alertmanager_basic_auth_password": creds.alertmanager,
        "node_exporter_basic_auth_password": creds.node_exporter,
        "otelcol_otlp_bearer_token": creds.otlp_token,
        "alertmanager_page_webhook_url": f"{webhook_url}/page",
        "alertmanager_ticket_webhook_url": f"{webhook_url}/ticket",
        "alertmanager_watchdog_webhook_url": f"{webhook_url}/watchdog",
        "prometheus_service_targets": {DRILL_JOB: [drill_address]},
        "obsbox_rules_dir": str(rules_dir),
        **{f"{c}_version": v for c, v in plan.versions.items()},
        **FAST_ALERTING,
        **(extra or {}),
    }
    groups = ha_inventory(addresses, common)
    for hosts in groups.values():
        for _name, data in hosts:
            for component in NOT_OBTAINABLE:
                data[f"{component}_enabled"] = False
    return groups


def write_inventory(directory: Path, groups: Mapping[str, list[tuple[str, dict[str, Any]]]], keys: Mapping[str, Path]) -> Path:
    """A pyinfra inventory file holding `groups`, each host with its own SSH key."""
    with_keys = {
        group: [[name, {**data, "ssh_key": str(keys[name])}] for name, data in hosts] for group, hosts in groups.items()
    }
    (directory / "ha_inventory.json").write_text(json.dumps(with_keys, indent=2))
    lines = [
        '"""Generated by obsbox.hosts.ha_cluster: obsbox.deploy.ha.ha_inventory for throwaway hosts."""',
        "import json",
        "import pathlib",
        "_GROUPS = json.loads((pathlib.Path(__file__).parent / 'ha_inventory.json').read_text())",
        *(f"{group} = [tuple(host) for host in _GROUPS[{group!r}]]" for group in with_keys),
    ]
    path = directory / "ha_inventory.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def converge_inventory(inventory: Path, limit: list[str] | None = None, timeout: float = 1200) -> ConvergeResult:
    """`pyinfra INVENTORY deploy.py -y` from deploy/ (so group_data/ pins the versions)."""
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        str(inventory),
        str(DEPLOY_DIR / "deploy.py"),
        "-y",
        "--ssh-user", "root",
        # Every throwaway host is new to us and shares the image's host keys: nothing to pin.
        "--data", "ssh_known_hosts_file=/dev/null",
        "--data", "ssh_strict_host_key_checking=no",
    ]  # fmt: skip
    if limit:
        argv += ["--limit", ",".join(limit)]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=DEPLOY_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    try:
        changed, unchanged, errors = parse_totals(output)
    except ValueError:
        changed, unchanged, errors = 0, 0, 1
    return ConvergeResult(proc.returncode, time.monotonic() - start, changed, unchanged, errors, output)


@dataclass
class HaCluster:
    """The HA layout converged on one host per role, and what this machine serves them."""

    hosts: dict[str, Host]  # role -> host
    inventory: Path
    first: ConvergeResult
    inbox: Inbox
    drill: DrillTarget
    creds: Secrets
    groups: dict[str, list[tuple[str, dict[str, Any]]]]

    def data(self, role: str) -> dict[str, Any]:
        address = self.hosts[role].address
        for hosts in self.groups.values():
            for name, data in hosts:
                if name == address:
                    return data
        raise KeyError(role)


@contextmanager
def ha_cluster(mirror_root: Path, plan: StackPlan, workdir: Path, repo_root: Path = REPO_ROOT) -> Iterator[HaCluster]:
    """Boot one host per role, converge the HA inventory once, yield; remove everything after."""
    rules_dir = workdir / "rules"
    shutil.copytree(repo_root / "alert_rules", rules_dir, ignore=shutil.ignore_patterns("incidents", "tests", "runbooks", "naive"))
    (rules_dir / "ha-drill.rules.yaml").write_text(drill_rules())
    creds = Secrets.generate()
    with ExitStack() as stack:
        booted = stack.enter_context(throwaway_hosts([f"obsbox-ha-{role}" for role in ROLES]))
        hosts = dict(zip(ROLES, booted))
        gateway = booted[0].gateway
        mirror_url = stack.enter_context(serve_mirror(mirror_root, gateway))
        hook_url, inbox = stack.enter_context(webhook_receiver(gateway))
        drill_address, drill = stack.enter_context(serve_drill_target(gateway))
        groups = cluster_groups(
            {role: host.address for role, host in hosts.items()}, mirror_url, plan, hook_url, drill_address, rules_dir, creds
        )
        inventory = write_inventory(workdir, groups, {h.address: h.ssh_key for h in booted})
        first = converge_inventory(inventory)
        yield HaCluster(hosts, inventory, first, inbox, drill, creds, groups)


__all__ = ["GROUPS", "HaCluster", "converge_inventory", "ha_cluster", "plan_ha"]
