"""Record incidents and noise from the real demo service (examples/), not from a generator.

    obsbox corpus record-demo NAME [NAME ...|all] [--out alert_rules/incidents]   # from the repo root

Starts the payments dependency, the demo service under gunicorn (one or more instances) and a
real Prometheus (the deploy's pinned build when `make setup` built it) scraping it every 5 s, all
on loopback free ports; drives it with examples/loadgen.py (and a load balancer's health checks),
injects the plan's fault (the demo's /admin/faults switches, restarts, crashes, stops) on a
schedule, and exports what Prometheus stored with ``obsbox.recorder`` (the code behind ``obsbox
record``). Runs in real time: each scenario takes its length in wall-clock minutes; several run
side by side. recorded_plans.yaml beside it holds the plans; docs/corpus.md lists them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsbox.formats import format_time
from obsbox.recorder import RecordRequest, fetch, manifest_skeleton
from obsbox.replay.recording import write_recording

JOB = "invoicing-demo"
SCRAPE_INTERVAL_S = 5
RPS = 15.0
TENANTS = 5
ROUTES = "v1_list:5,v1_get:3"
SELECTORS = (
    f'http_server_request_duration_seconds_count{{job="{JOB}"}}',
    f'http_server_request_duration_seconds_sum{{job="{JOB}"}}',
    f'http_server_request_duration_seconds_bucket{{job="{JOB}",le=~"0.5|1|1.0|\\\\+Inf"}}',
    f'up{{job="{JOB}"}}',
)


@dataclass(frozen=True)
class Plan:
    kind: str
    description: str
    before_s: int
    fault_s: int
    after_s: int
    faults: dict[str, Any] = field(default_factory=dict)
    expect_alert: str | None = None
    within: str = "5m"
    # What happens at the fault's start: "faults" flips the demo's switches for fault_s;
    # "restart" stops and starts every instance once; "rolling_restart" does so one instance at a
    # time (a deploy); "crash_loop" SIGKILLs every instance and lets a supervisor start it again
    # after RESTART_DELAY_S, over and over for fault_s; "stop_all" stops every instance for fault_s.
    action: str = "faults"
    instances: int = 1
    rps: float = RPS
    tenants: int = TENANTS
    routes: str = ROUTES
    # A load balancer's health check: GET /healthz every second per instance, without a tenant.
    health_checks: bool = False
    env: dict[str, str] = field(default_factory=dict)


RESTART_DELAY_S = 5  # systemd's RestartSec= for the crash loop's supervisor
CRASH_UPTIME_S = 25  # how long each start of a crash-looping instance lives


PLANS_FILE = Path(__file__).with_name("recorded_plans.yaml")


def load_plans(path: Path = PLANS_FILE) -> dict[str, Plan]:
    """The plans of a plans file (recorded_plans.yaml beside this module), by recording name."""
    plans: dict[str, Plan] = {}
    for name, row in yaml.safe_load(path.read_text(encoding="utf-8")).items():
        fields = dict(row)
        fault = fields.pop("fault", None)
        fields["description"] = fields["description"].format(crash_uptime_s=CRASH_UPTIME_S, restart_delay_s=RESTART_DELAY_S)
        try:
            plans[name] = Plan(**fields, faults={"rules": [fault]} if fault else {})
        except TypeError as exc:
            raise ValueError(f"{path}: plan {name!r}: {exc}") from None
    return plans


PLANS = load_plans()


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _health_checks(base: str, stop: threading.Event) -> None:
    """A load balancer's probe: GET /healthz once a second, no tenant header; failures are expected."""
    while not stop.wait(1.0):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                resp.read()
        except OSError:
            pass


def _prometheus_binary() -> str:
    """The deploy's pinned Prometheus build when `make setup` made it, else the one on PATH."""
    from obsbox.binaries import locate

    built = locate.built("prometheus")
    return str(built) if built is not None else "prometheus"


class _Instance:
    """One instance of the demo: gunicorn on its own port, its own metrics port and multiproc dir."""

    def __init__(self, index: int, workdir: Path, base_env: dict[str, str]) -> None:
        from examples.procs import free_port

        self.index = index
        self.port, self.metrics_port = free_port(), free_port()
        self.workdir = workdir
        self.env = dict(base_env)
        self.env["OBSBOX_PROMETHEUS_PORT"] = str(self.metrics_port)
        self.env["OBSBOX_DEMO_FAULTS_FILE"] = str(workdir / f"faults-{index}.json")
        self.starts = 0
        self.proc: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from examples.procs import ManagedProcess, gunicorn_argv

        # A fresh multiprocess directory per start, as a restarted unit gets: counters from zero.
        prom_dir = self.workdir / f"prom-{self.index}-{self.starts}"
        prom_dir.mkdir()
        env = dict(self.env, PROMETHEUS_MULTIPROC_DIR=str(prom_dir))
        log = self.workdir / f"demo-{self.index}-{self.starts}.log"
        self.proc = ManagedProcess(f"demo-{self.index}", gunicorn_argv(self.port, workers=1), env, log).start()
        self.starts += 1
        self.proc.wait_http(f"{self.base}/healthz", timeout=60)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def crash(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, as a crash."""
        if self.proc is not None and self.proc.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.proc.pid, signal.SIGKILL)
            self.proc.proc.wait(timeout=10)


def _act(plan: Plan, instances: list[_Instance]) -> None:
    """The plan's fault, from its start to its end (wall-clock time)."""
    if plan.action == "faults":
        for inst in instances:
            _post(f"{inst.base}/admin/faults", plan.faults)
        time.sleep(plan.fault_s)
        for inst in instances:
            _post(f"{inst.base}/admin/faults", {})
    elif plan.action == "restart":
        for inst in instances:
            inst.stop()
        for inst in instances:
            inst.start()
    elif plan.action == "rolling_restart":
        for inst in instances:
            inst.stop()
            inst.start()
            time.sleep(30)
    elif plan.action == "stop_all":
        for inst in instances:
            inst.stop()
        time.sleep(plan.fault_s)
        for inst in instances:
            inst.start()
    elif plan.action == "crash_loop":
        deadline = time.monotonic() + plan.fault_s
        while time.monotonic() < deadline:
            for inst in instances:
                inst.crash()
            time.sleep(RESTART_DELAY_S)
            for inst in instances:
                inst.start()
            time.sleep(CRASH_UPTIME_S)
    else:
        raise ValueError(f"unknown action {plan.action!r}")


def record(name: str, out: Path) -> None:
    # The demo's helpers live in examples/, importable from the repository root.
    from examples.loadgen import run_load
    from examples.payments_service import PaymentsServer
    from examples.procs import ManagedProcess, demo_env, free_port
    from obsbox.replay.prometheus import binary_version

    plan = PLANS[name]
    total = plan.before_s + plan.fault_s + plan.after_s
    workdir = Path(tempfile.mkdtemp(prefix=f"obsbox-record-{name}-"))
    payments = PaymentsServer()
    payments.start()
    prom_port = free_port()
    env = demo_env(
        OTEL_SERVICE_NAME=JOB,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OBSBOX_DEMO_PAYMENTS_URL=payments.url,
        **plan.env,
    )
    instances = [_Instance(i, workdir, env) for i in range(plan.instances)]
    prometheus = _prometheus_binary()
    version = binary_version(prometheus) or "unknown"
    config = {
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s", "scrape_timeout": "4s"},
        "scrape_configs": [
            {
                "job_name": JOB,
                "static_configs": [{"targets": [f"127.0.0.1:{inst.metrics_port}" for inst in instances]}],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))
    prom = ManagedProcess(
        "prometheus",
        [
            prometheus,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ],
        demo_env(),
        workdir / "prometheus.log",
    ).start()
    stop_checks = threading.Event()
    try:
        for inst in instances:
            inst.start()
        prom.wait_http(f"http://127.0.0.1:{prom_port}/-/ready", timeout=60)
        start = time.time()
        threads = [
            threading.Thread(
                target=run_load,
                kwargs={
                    "url": inst.base,
                    "max_requests": max(1, int(plan.rps * total * 1.2 / plan.instances) + 1),
                    "duration_s": float(total),
                    "rps": plan.rps / plan.instances,
                    "tenants": plan.tenants,
                    "routes": plan.routes,
                    "concurrency": 4,
                    "seed": 7 + inst.index,
                },
                daemon=True,
            )
            for inst in instances
        ]
        if plan.health_checks:
            threads += [
                threading.Thread(target=_health_checks, args=(inst.base, stop_checks), daemon=True)
                for inst in instances
            ]
        for thread in threads:
            thread.start()
        time.sleep(plan.before_s)  # the schedule is wall-clock time: this is the recording's baseline
        fault_start = time.time()
        _act(plan, instances)
        fault_end = time.time()
        remaining = start + total - time.time()
        if remaining > 0:
            time.sleep(remaining)
        stop_checks.set()
        for thread in threads:
            thread.join(timeout=60)
        end = time.time() + SCRAPE_INTERVAL_S
        time.sleep(SCRAPE_INTERVAL_S * 2)  # let the last scrape land
        series = fetch(
            RecordRequest(f"http://127.0.0.1:{prom_port}", SELECTORS, start - SCRAPE_INTERVAL_S, end)
        )
    finally:
        stop_checks.set()
        prom.stop()
        for inst in instances:
            inst.stop()
        payments.stop()
    fmt = lambda t: format_time(int(t) * 1000)  # noqa: E731
    manifest = manifest_skeleton(
        name,
        f"{name}.om",
        fmt(start - SCRAPE_INTERVAL_S),
        fmt(end),
        kind=plan.kind,
        description=plan.description,
        source_detail=(
            f"examples/demo_service under gunicorn ({plan.instances} instance(s)) + examples/loadgen.py "
            f"({plan.rps:g} rps, {plan.tenants} tenants, {plan.routes})"
            f"{', health checks 1/s per instance' if plan.health_checks else ''}, scraped every "
            f"{SCRAPE_INTERVAL_S}s by Prometheus {version}, exported by obsbox.recorder "
            f"(obsbox corpus record-demo {name})"
        ),
        windows=[(fmt(fault_start), fmt(fault_end))] if plan.kind == "incident" else (),
        expect_alert=plan.expect_alert,
        within=plan.within,
    )
    if plan.kind == "incident":
        manifest["expect"]["fire"][0]["labels"] = {"job": JOB}
    else:
        # Noise recorded from the real service: neither a page nor a ticket may open.
        manifest["expect"] = {"quiet_severities": ["critical", "warning"]}
    write_recording(out, manifest, series)
    # The logs and TSDB are kept when anything above failed, for the post-mortem; not on success.
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"{name}: {len(series)} series, {sum(len(s.timestamps_ms) for s in series)} samples")
