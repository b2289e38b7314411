"""Put the demo service on a host: mirror contents, the pyinfra deploy, traffic and faults."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from obsbox.hosts.converge import ConvergeResult, converge
from obsbox.hosts.host import Host
from obsbox.hosts.wheelhouse import build_examples_archive, build_wheelhouse, sha256_of

DEPLOY_FILE = Path(__file__).parent / "deploys" / "demo_app.py"
APP_PORT = 8000
METRICS_PORT = 9464
PAYMENTS_PORT = 8081
WORKER_METRICS_PORT = 9465
SERVICE_JOB = "invoicing-demo"
WORKER_JOB = "invoicing-demo-worker"
JOB_QUEUE = "invoices"
LOAD_UNIT = "obsbox-demo-load"
# v2_render enqueues an invoice-rendering RQ job; the report route's hand-rolled worker is not
# deployed on the hosts.
LOAD_ROUTES = "v1_list:5,v1_get:3,v2_list:2,v2_render:2"


def service_targets() -> dict[str, list[str]]:
    """What Prometheus on the host scrapes of the demo: the RQ worker's /metrics (the service
    itself pushes OTLP to the collector)."""
    return {WORKER_JOB: [f"127.0.0.1:{WORKER_METRICS_PORT}"]}


def prepare_mirror(mirror_root: Path, repo_root: Path) -> str:
    """Put the wheelhouse and the example sources into the mirror; return the sources' sha256."""
    build_wheelhouse(mirror_root, repo_root)
    return sha256_of(build_examples_archive(mirror_root, repo_root))


def deploy_demo_app(host: Host, mirror_url: str, examples_sha256: str, otlp_endpoint: str = "") -> ConvergeResult:
    """Install and start the demo; with `otlp_endpoint` it sends every signal to that collector
    instead of serving /metrics."""
    return converge(
        host,
        DEPLOY_FILE,
        {
            "obsbox_demo_mirror_url": mirror_url,
            "obsbox_demo_examples_sha256": examples_sha256,
            "obsbox_demo_port": APP_PORT,
            "obsbox_demo_metrics_port": METRICS_PORT,
            "obsbox_demo_payments_port": PAYMENTS_PORT,
            "obsbox_demo_worker_metrics_port": WORKER_METRICS_PORT,
            "obsbox_demo_worker_service_name": WORKER_JOB,
            "obsbox_demo_job_queue": JOB_QUEUE,
            "obsbox_demo_otlp_endpoint": otlp_endpoint,
        },
    )


def start_load(host: Host, duration_s: int = 1800, rps: int = 20) -> None:
    """Run the demo's load generator on the host as a transient unit, bounded in time and count."""
    host.run(f"systemctl stop {LOAD_UNIT} 2>/dev/null; systemctl reset-failed {LOAD_UNIT} 2>/dev/null; true")
    argv = [
        "systemd-run", f"--unit={LOAD_UNIT}", "--collect", "--property=DynamicUser=yes",
        "--working-directory=/opt/obsbox-demo/src",
        "/opt/obsbox-demo/venv/bin/python", "-m", "examples.loadgen",
        "--url", f"http://127.0.0.1:{APP_PORT}",
        "--duration", str(duration_s), "--rps", str(rps),
        "--max-requests", str(duration_s * rps), "--routes", LOAD_ROUTES,
    ]  # fmt: skip
    host.run(shlex.join(argv))


def stop_load(host: Host) -> None:
    host.run(f"systemctl stop {LOAD_UNIT} 2>/dev/null; true")


def set_faults(host: Host, faults: dict[str, object]) -> None:
    """Switch the demo's faults through its admin endpoint, which answers on loopback only."""
    body = shlex.quote(json.dumps(faults))
    host.run(
        f"curl -fsS -X POST -H 'Content-Type: application/json' -d {body} http://127.0.0.1:{APP_PORT}/admin/faults"
    )


def error_incident(error_rate: float = 0.5, status: int = 503) -> dict[str, object]:
    """Every route fails at `error_rate`: the fast availability burn-rate alert's incident."""
    return {"rules": [{"route": "*", "tenant": "*", "error_rate": error_rate, "status": status}]}


def job_incident(fail_rate: float = 0.5) -> dict[str, object]:
    """A share of the invoice renders are poison jobs that fail in the worker: JobFailureRatioHigh."""
    return {"jobs": {"fail_rate": fail_rate}}
