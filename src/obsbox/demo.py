"""`make demo` / `make demo-down`: the whole kit on one throwaway systemd host, narrated.

    obsbox demo up      # boot, deploy, demo service + RQ worker + traffic, HTTP and job incidents, alerts, replay
    obsbox demo down    # stop the host and remove everything `up` made

The host stays up between the two; its description lives in .demo/host.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.request import urlopen

from obsbox.hosts import demo_app
from obsbox.hosts.host import Host, boot_host, is_alive, ssh_command_line, stop_host
from obsbox.hosts.image import ensure_rootfs_tarball, tarball_path
from obsbox.hosts.mirror import MIRROR_DIR, build_mirror, serve_mirror
from obsbox.hosts.stack import (
    FAST_ALERTING,
    PORTS,
    converge_stack,
    otlp_http_endpoint,
    plan_stack,
    stack_data,
)
from obsbox.hosts.webhook import webhook_receiver
from obsbox.render import ports

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = REPO_ROOT / ".demo"
HOST_FILE = STATE_DIR / "host.json"
REPORT = STATE_DIR / "replay-report.html"
ALERT = "SloAvailabilityBurnRateFast"
JOB_ALERT = "JobFailureRatioHigh"
ALERT_TIMEOUT_S = 480.0
STEPS = 7
T = TypeVar("T")


class DemoError(RuntimeError):
    """A step of the demo failed; the message says what, and what is left running."""


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, title: str, work: Callable[[], T]) -> T:
    say(f"\n[{n}/{STEPS}] {title}")
    start = time.monotonic()
    result = work()
    say(f"      done in {time.monotonic() - start:.1f}s")
    return result


def _get_json(url: str) -> Any:
    with urlopen(url, timeout=10) as resp:
        return json.load(resp)


def _wait_for_alertmanager_alert(host: Host, name: str, deadline: float) -> dict[str, Any] | None:
    """Poll Alertmanager's API on the host until the alert is active there; report Prometheus's view."""
    last_state = ""
    while time.monotonic() < deadline:
        for alert in _get_json(f"http://{host.address}:{PORTS['alertmanager']}/api/v2/alerts"):
            if alert["labels"].get("alertname") == name:
                return dict(alert)
        rules = _get_json(f"http://{host.address}:{PORTS['prometheus']}/api/v1/alerts")["data"]["alerts"]
        states = sorted({a["state"] for a in rules if a["labels"].get("alertname") == name})
        state = ", ".join(states) or "inactive"
        if state != last_state:
            say(f"      Prometheus: {name} is {state}")
            last_state = state
        time.sleep(2)
    return None


def up() -> int:
    if HOST_FILE.exists():
        host = Host.from_json(HOST_FILE.read_text())
        if is_alive(host):
            raise DemoError(f"a demo host is already up at {host.address}; run `make demo-down` first")
        # Its PID 1 is gone (a reboot, a kill): remove what is left of it before starting over.
        stop_host(host)
        HOST_FILE.unlink()
    STATE_DIR.mkdir(exist_ok=True)
    cached = tarball_path().exists()
    say(f"\n[1/{STEPS}] Host image: Debian bookworm minbase + systemd, sshd, python3, redis-server (debootstrap, cached)")
    start = time.monotonic()
    image = ensure_rootfs_tarball()
    say(f"      {'reused' if cached else 'built'} {image} in {time.monotonic() - start:.1f}s")

    def boot() -> Host:
        host = boot_host("obsbox-demo")
        HOST_FILE.write_text(host.to_json())
        return host

    host = step(2, "Boot a throwaway systemd host (own pid/mount/net namespaces, veth /30, no route out)", boot)
    say(f"      host {host.name} at {host.address}; ssh: {ssh_command_line(host)}")

    def mirror() -> tuple[dict[str, str], str]:
        versions = build_mirror(MIRROR_DIR)
        return versions, demo_app.prepare_mirror(MIRROR_DIR, REPO_ROOT)

    versions, examples_sha256 = step(
        3,
        f"Local artifact mirror in {MIRROR_DIR} (release archives built from the pinned Go modules, wheelhouse)",
        mirror,
    )
    plan = plan_stack(MIRROR_DIR, versions)
    for component, version in plan.versions.items():
        say(f"      will install {component} {version} (release archive built from its Go module by `obsbox binaries`)")
    for component in plan.skipped:
        say(
            f"      NOT installed: {component}: no release of it can be had here (no internet, no Debian "
            "package, AGPL module not built); its config is rendered and checked by the tests instead"
        )

    with serve_mirror(MIRROR_DIR, host.gateway) as mirror_url, webhook_receiver(host.gateway) as (hook_url, inbox):

        def deploy() -> None:
            data = stack_data(
                host,
                mirror_url,
                plan,
                webhook_url=hook_url,
                # Listen on the host's address so this machine can open the UIs; the host is reachable
                # only from this machine (veth /30), so the listeners are allowed without auth.
                service_targets=demo_app.service_targets(),
                extra={
                    **FAST_ALERTING,
                    "obsbox_bind_address": host.address,
                    "obsbox_allow_unauthenticated": ["node_exporter", "prometheus", "alertmanager", "otelcol"],
                },
            )
            result = converge_stack(host, data)
            if not result.ok:
                say(result.output[-4000:])
                raise DemoError("deploy failed; the host is still up for inspection (make demo-down removes it)")
            say(f"      pyinfra: {result.changed} operations changed the host in {result.seconds:.1f}s")

        step(4, "Deploy the stack with pyinfra (deploy/deploy.py, artifacts from the mirror)", deploy)

        def demo_service() -> None:
            result = demo_app.deploy_demo_app(host, mirror_url, examples_sha256, otlp_endpoint=otlp_http_endpoint(host.address))
            if not result.ok:
                say(result.output[-4000:])
                raise DemoError("demo service deploy failed; the host is still up (make demo-down removes it)")
            demo_app.start_load(host, duration_s=3600, rps=20)
            say(
                f"      invoicing-demo on {host.address}: app :{demo_app.APP_PORT} (loopback); traces, metrics and "
                f"logs over OTLP to the collector at {otlp_http_endpoint(host.address)}"
            )
            say(
                f"      {demo_app.WORKER_JOB}: `obsbox-instrument rq worker {demo_app.JOB_QUEUE}` renders the invoices "
                f"POST /v2/invoices/<id>/render enqueues (redis-server on loopback); Prometheus scrapes its "
                f"/metrics on 127.0.0.1:{demo_app.WORKER_METRICS_PORT}"
            )
            say("      load generator running on the host for up to 1 h (unit obsbox-demo-load)")

        step(
            5,
            "Demo service on the host (multi-tenant invoicing API, payments dependency, invoice-rendering RQ worker) "
            "with traffic",
            demo_service,
        )

        def incident() -> None:
            deadline = time.monotonic() + ALERT_TIMEOUT_S
            demo_app.set_faults(host, {**demo_app.error_incident(error_rate=0.5), **demo_app.job_incident(fail_rate=0.5)})
            say("      injected: 50% of requests on every route answer 503")
            say(f"      injected: 50% of invoice renders are poison jobs that fail in the {demo_app.JOB_QUEUE} worker")
            for name, rule in ((ALERT, "`for: 2m`"), (JOB_ALERT, "evaluated every 1m, `for: 3m`")):
                say(f"      waiting for {name} ({rule}) to reach Alertmanager ...")
                alert = _wait_for_alertmanager_alert(host, name, deadline)
                if alert is None:
                    say(f"      {name} did not reach Alertmanager within {ALERT_TIMEOUT_S:.0f}s of the injection")
                    continue
                say(f"      Alertmanager has it: {alert['labels']} since {alert.get('startsAt')}")
                got = inbox.wait_for_alert(name, timeout=60)
                if got is not None:
                    say(f"      webhook receiver on {hook_url} got it on {got[0]}")
            amtool = host.run(
                f"amtool alert query --alertmanager.url=http://{host.address}:{PORTS['alertmanager']}", check=False
            )
            say("      amtool alert query:")
            for line in amtool.stdout.splitlines():
                say(f"        {line}")

        step(6, "Inject an HTTP incident and a job incident and watch both alerts arrive", incident)

    def replay() -> None:
        incidents = REPO_ROOT / "alert_rules" / "incidents"
        obsbox = Path(sys.executable).parent / "obsbox"
        if not any(incidents.glob("*.yaml")):
            say(f"      SKIPPED: no recorded incidents in {incidents}")
            return
        proc = subprocess.run(
            [str(obsbox), "replay", "--rules", str(REPO_ROOT / "alert_rules"), "--incidents", str(incidents), "--html", str(REPORT)],
            cwd=REPO_ROOT,
            check=False,
        )
        if REPORT.exists():
            say(f"      HTML report: {REPORT}" + ("" if proc.returncode == 0 else f" (replay exited {proc.returncode})"))
        else:
            say(f"      replay exited {proc.returncode} and wrote no report")

    step(7, "Replay the shipped incident corpus through the alert rules", replay)

    say("\nobsbox demo is up:")
    say(f"  Prometheus    http://{host.address}:{PORTS['prometheus']}/alerts")
    say(f"  Alertmanager  http://{host.address}:{PORTS['alertmanager']}/#/alerts")
    say(f"  node_exporter http://{host.address}:{PORTS['node_exporter']}/metrics")
    say(f"  collector     http://{host.address}:{ports.OTELCOL_PROMETHEUS_EXPORTER}/metrics (service metrics that arrived over OTLP)")
    say(f"  RQ worker     {demo_app.WORKER_JOB}: its /metrics on the host's 127.0.0.1:{demo_app.WORKER_METRICS_PORT}")
    say(f"  ssh           {ssh_command_line(host)}")
    if REPORT.exists():
        say(f"  replay report {REPORT}")
    say(f"  not installed {', '.join(plan.skipped)} (no release obtainable here)")
    say("  clear the fault: " + f"{ssh_command_line(host)} \"curl -X DELETE http://127.0.0.1:{demo_app.APP_PORT}/admin/faults\"")
    say("  tear down:     make demo-down")
    return 0


def down() -> int:
    if not HOST_FILE.exists():
        say("No demo host is recorded (.demo/host.json); nothing to tear down.")
        shutil.rmtree(STATE_DIR, ignore_errors=True)
        return 0
    host = Host.from_json(HOST_FILE.read_text())
    stop_host(host)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    say(f"Stopped demo host {host.name} ({host.address}): PID 1 killed, veth {host.veth} deleted, {host.state_dir} removed.")
    say(f"Kept the caches for the next run: {tarball_path()} and {MIRROR_DIR}.")
    return 0

