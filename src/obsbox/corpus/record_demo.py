"""Record incidents and noise from the real demo service (examples/), not from a generator.

    python -m obsbox.corpus.record_demo NAME [--out alert_rules/incidents]   # from the repo root

Starts the payments dependency, the demo service under gunicorn and a real Prometheus scraping
it every 5 s (all on loopback, free ports), drives it with examples/loadgen.py, flips the demo's
fault switches through its /admin/faults endpoint on a schedule, and exports what Prometheus
stored with ``obsbox.recorder`` (the code behind ``obsbox record``). Runs in real time: each
scenario takes its length in wall-clock minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    faults: dict[str, Any]
    expect_alert: str | None = None
    within: str = "5m"
    # Restart the demo (stop, start again on the same ports) instead of flipping fault switches.
    restart: bool = False


PLANS = {
    "recorded-5xx-spike": Plan(
        "incident",
        "The real demo service under examples/loadgen.py: 40% of all requests answered 503 by the demo's "
        "fault switch for 5 minutes, after 5 minutes of normal load.",
        300,
        300,
        180,
        {"rules": [{"route": "*", "tenant": "*", "error_rate": 0.4, "status": 503}]},
        "SloAvailabilityBurnRateFast",
    ),
    "recorded-tenant-4xx": Plan(
        "noise",
        "The real demo service under examples/loadgen.py: for 5 minutes 90% of tenant-0001's requests are "
        "answered 404 (a client polling deleted invoices); client errors must not page.",
        300,
        300,
        180,
        {"rules": [{"route": "*", "tenant": "tenant-0001", "error_rate": 0.9, "status": 404}]},
    ),
    "recorded-restart": Plan(
        "noise",
        "The real demo service under examples/loadgen.py, restarted (gunicorn stopped and started again) "
        "after 5 minutes: a few refused connections, a missed scrape or two, counters starting again from zero.",
        300,
        0,
        480,
        {},
        restart=True,
    ),
}


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def record(name: str, out: Path) -> None:
    # The demo's helpers live in examples/, importable from the repository root.
    from examples.loadgen import run_load
    from examples.payments_service import PaymentsServer
    from examples.procs import ManagedProcess, demo_env, free_port, gunicorn_argv

    plan = PLANS[name]
    total = plan.before_s + plan.fault_s + plan.after_s
    workdir = Path(tempfile.mkdtemp(prefix=f"obsbox-record-{name}-"))
    payments = PaymentsServer()
    payments.start()
    port, metrics_port, prom_port = free_port(), free_port(), free_port()
    (workdir / "prom").mkdir(exist_ok=True)
    env = demo_env(
        OTEL_SERVICE_NAME=JOB,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OBSBOX_PROMETHEUS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "prom"),
        OBSBOX_DEMO_FAULTS_FILE=str(workdir / "faults.json"),
        OBSBOX_DEMO_PAYMENTS_URL=payments.url,
    )
    demo = ManagedProcess("demo", gunicorn_argv(port, workers=1), env, workdir / "demo.log").start()
    config = {
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s", "scrape_timeout": "4s"},
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))
    prom = ManagedProcess(
        "prometheus",
        [
            "prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ],
        demo_env(),
        workdir / "prometheus.log",
    ).start()
    try:
        demo.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        prom.wait_http(f"http://127.0.0.1:{prom_port}/-/ready", timeout=60)
        base = f"http://127.0.0.1:{port}"
        start = time.time()
        load = threading.Thread(
            target=run_load,
            kwargs={
                "url": base,
                "max_requests": int(RPS * total * 1.2),
                "duration_s": float(total),
                "rps": RPS,
                "tenants": TENANTS,
                "routes": ROUTES,
                "concurrency": 4,
                "seed": 7,
            },
            daemon=True,
        )
        load.start()
        time.sleep(plan.before_s)  # the schedule is wall-clock time: this is the recording's baseline
        fault_start = time.time()
        if plan.restart:
            demo.stop()
            demo = ManagedProcess("demo", gunicorn_argv(port, workers=1), env, workdir / "demo-2.log").start()
            demo.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        else:
            _post(f"{base}/admin/faults", plan.faults)
            time.sleep(plan.fault_s)
            _post(f"{base}/admin/faults", {})
        fault_end = time.time()
        load.join(timeout=total + 60)
        end = time.time() + SCRAPE_INTERVAL_S
        time.sleep(SCRAPE_INTERVAL_S * 2)  # let the last scrape land
        series = fetch(
            RecordRequest(f"http://127.0.0.1:{prom_port}", SELECTORS, start - SCRAPE_INTERVAL_S, end)
        )
    finally:
        prom.stop()
        demo.stop()
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
            f"examples/demo_service under gunicorn + examples/loadgen.py ({RPS:g} rps, {TENANTS} tenants, {ROUTES}), "
            f"scraped every {SCRAPE_INTERVAL_S}s by Prometheus 2.42, exported by obsbox.recorder "
            f"(python -m obsbox.corpus.record_demo {name})"
        ),
        windows=[(fmt(fault_start), fmt(fault_end))] if plan.kind == "incident" else (),
        expect_alert=plan.expect_alert,
        within=plan.within,
    )
    if plan.kind == "incident":
        manifest["expect"]["fire"][0]["labels"] = {"job": JOB}
    write_recording(out, manifest, series)
    # The logs and TSDB are kept when anything above failed, for the post-mortem; not on success.
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"{name}: {len(series)} series, {sum(len(s.timestamps_ms) for s in series)} samples")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record a corpus entry from the real demo service.")
    parser.add_argument("name", choices=sorted(PLANS))
    parser.add_argument("--out", type=Path, default=Path("alert_rules/incidents"))
    args = parser.parse_args(argv)
    record(args.name, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
