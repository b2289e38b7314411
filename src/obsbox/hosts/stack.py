"""Converge the all-in-one stack (deploy/deploy.py) onto a throwaway host from the local mirror.

Only the components whose release the mirror holds are enabled: Prometheus, Alertmanager,
node_exporter and the collector (obsbox's distribution), built from their Go modules at the pinned
versions. Grafana, Loki and Tempo have no release obtainable here (no Debian package, no internet,
and their modules are not to be built); they are never faked, so they are switched off for the
host and reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from obsbox.binaries.catalog import COLLECTOR_DISTRIBUTION
from obsbox.hosts.converge import ConvergeResult, converge
from obsbox.hosts.host import Host
from obsbox.hosts.mirror import archive_name, release_dir
from obsbox.hosts.webhook import Inbox

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY_FILE = REPO_ROOT / "deploy" / "deploy.py"
INSTALLABLE = ("node_exporter", "prometheus", "alertmanager", "otelcol")
NOT_OBTAINABLE = ("loki", "tempo", "grafana")
PORTS = {"prometheus": 9090, "alertmanager": 9093, "node_exporter": 9100, "otelcol": 13133}


def otlp_http_endpoint(address: str = "127.0.0.1") -> str:
    """The collector's OTLP/HTTP receiver when the stack listens on `address`."""
    return f"http://{address}:4318"


# Inventory data for the tests and the demo: scrape and evaluate every 2 s and let Alertmanager
# send after 5 s, so an injected fault pages within the rules' own `for:` (2 min) plus seconds.
FAST_ALERTING: dict[str, object] = {
    "prometheus_scrape_interval": "2s",
    "prometheus_evaluation_interval": "2s",
    "alertmanager_group_wait": "5s",
    "alertmanager_group_interval": "10s",
}


@dataclass(frozen=True)
class StackPlan:
    """What goes onto the host: component -> version for the installable ones, and the rest."""

    versions: Mapping[str, str]
    skipped: tuple[str, ...]


@dataclass
class StackHost:
    """A host with the stack converged once, the mirror URL it used and the webhook inbox."""

    host: Host
    mirror_url: str
    data: dict[str, object]
    first: ConvergeResult
    inbox: Inbox
    skipped: tuple[str, ...]


def plan_stack(mirror_root: Path, versions: Mapping[str, str]) -> StackPlan:
    """Enable a component only when its archive is really in the mirror."""
    present = {
        name: version
        for name, version in versions.items()
        if name in INSTALLABLE and (mirror_root / release_dir(name, version) / archive_name(name, version)).exists()
    }
    skipped = tuple(c for c in (*INSTALLABLE, *NOT_OBTAINABLE) if c not in present)
    return StackPlan(present, skipped)


def stack_data(
    host: Host,
    mirror_url: str,
    plan: StackPlan,
    webhook_url: str | None = None,
    service_targets: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    data: dict[str, object] = {"obsbox_artifact_base_url": mirror_url, "otelcol_distribution": COLLECTOR_DISTRIBUTION}
    for component, version in plan.versions.items():
        data[f"{component}_version"] = version
    for component in plan.skipped:
        data[f"{component}_enabled"] = False
    if webhook_url:
        data["alertmanager_page_webhook_url"] = f"{webhook_url}/page"
        data["alertmanager_ticket_webhook_url"] = f"{webhook_url}/ticket"
    if service_targets:
        data["prometheus_service_targets"] = dict(service_targets)
    data.update(extra or {})
    return data


def converge_stack(host: Host, data: Mapping[str, object]) -> ConvergeResult:
    # Run from deploy/ so pyinfra picks up group_data/ as a user of the inventories would.
    return converge(host, DEPLOY_FILE, data, cwd=DEPLOY_FILE.parent)
