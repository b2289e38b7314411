"""Record the job incidents and noise of the corpus from real Celery and RQ workers.

    python -m examples.jobs.record [--out alert_rules/incidents] [--minutes 13]   # repo root

One real run, every queue with its own fault at the same time (so the corpus costs one run's
wall-clock time, not one per recording): two redis-servers, Celery and RQ workers under
obsbox-instrument, a real Prometheus scraping every worker's /metrics every 15 s, and this
process enqueueing on a schedule. Each recording is then exported with ``obsbox record``,
selecting one queue's series:

| queue (library) | fault | recording | expected |
|---|---|---|---|
| invoices (Celery) | half the jobs are poison from 4 to 9 min | celery-poison-task | JobFailureRatioHigh |
| exports (Celery, 1 process) | a job hangs at 4 min, the pool is stuck | celery-stuck-worker | JobQueueBacklogGrowing |
| billing (Celery, own Redis) | its Redis is killed at 5 min, back at 9 | celery-broker-outage | JobBrokerUnreachable |
| emails (Celery) | 60% of jobs retry once for 2 min | celery-retry-storm-heals | no page |
| webhooks (RQ) | every job takes 1.5 s from 4 min (objective 30 s lag) | rq-slow-dependency | JobQueueLagAboveObjective |
| nightly (RQ, 2 workers) | 600 jobs enqueued at 2 min, drained in minutes | rq-batch-drains | no page |
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from examples.procs import REPO_ROOT, VENV_BIN, ManagedProcess, demo_env, free_port, redis_argv, wait_until

SCRAPE_S = 15  # coarse: the rules' windows are minutes, and the corpus stays small
# Only the series the job rules read (the duration histogram's buckets and sums are left out).
SERIES = (
    "obsbox_job_duration_seconds_count", "obsbox_job_queue_lag_seconds_bucket", "obsbox_job_queue_lag_seconds_count",
    "obsbox_job_queue_depth", "obsbox_job_queue_oldest_age_seconds", "obsbox_job_workers",
    "obsbox_job_failed_registry", "obsbox_job_broker_up",
)
JOB = "invoicing-worker"
FAULT_AT = 240


@dataclass(frozen=True)
class Recording:
    name: str
    queue: str
    kind: str
    description: str
    window: tuple[int, int] | None = None  # seconds after the start
    expect: str | None = None
    within: str = "10m"


RECORDINGS = (
    Recording(
        "celery-poison-task", "invoices", "incident",
        "Real Celery worker (prefork, 2 processes): from minute 4 to 9 half of the jobs enqueued are a "
        "poison task that always raises.", (FAULT_AT, 540), "JobFailureRatioHigh", "7m",
    ),
    Recording(
        "celery-stuck-worker", "exports", "incident",
        "Real Celery worker with one pool process: at minute 4 a job hangs (no time limit), nothing "
        "finishes any more while jobs keep arriving; depth and oldest age are read from Redis.",
        (FAULT_AT, None), "JobQueueBacklogGrowing", "8m",  # type: ignore[arg-type]
    ),
    Recording(
        "celery-broker-outage", "billing", "incident",
        "Real Celery worker whose Redis broker is killed at minute 5 and restarted at minute 9.",
        (300, 540), "JobBrokerUnreachable", "5m",
    ),
    Recording(
        "celery-retry-storm-heals", "emails", "noise",
        "Real Celery worker: for two minutes 60% of the jobs fail once and succeed on their retry.",
    ),
    Recording(
        "rq-slow-dependency", "webhooks", "incident",
        "Real RQ worker (a fork per job): from minute 4 every job waits 1.5 s on a slow dependency, "
        "more than the one-a-second arrival allows; jobs wait past the queue's 30 s lag objective.",
        (FAULT_AT, None), "JobQueueLagAboveObjective", "8m",  # type: ignore[arg-type]
    ),
    Recording(
        "rq-batch-drains", "nightly", "noise",
        "Real RQ workers (two): a batch of 600 jobs enqueued at minute 2 drains within minutes; the "
        "oldest job ages while the backlog shrinks.",
    ),
)


def _every(seconds: float, until: float, action: Callable[[float], None], start: float) -> None:
    tick = 0
    while True:
        now = time.time()
        if now >= until:
            return
        try:
            action(now - start)
        except Exception as exc:  # a broker outage: the producer keeps its schedule
            print(f"enqueue failed: {exc!r}", file=sys.stderr)
        tick += 1
        time.sleep(max(0.0, start + tick * seconds - time.time()))  # the schedule's clock


def run(out: Path, minutes: float) -> None:
    total = int(minutes * 60)
    work = Path(tempfile.mkdtemp(prefix="obsbox-record-jobs-"))
    procs: list[ManagedProcess] = []

    def start(name: str, argv: list[str], **env: str) -> ManagedProcess:
        proc = ManagedProcess(name, argv, demo_env(PATH=f"{VENV_BIN}:/usr/bin:/bin", **env), work / f"{name}.log").start()
        procs.append(proc)
        return proc

    r1, r2 = free_port(), free_port()
    (work / "r1").mkdir()
    (work / "r2").mkdir()
    start("redis1", redis_argv(r1, work / "r1"))
    redis2 = start("redis2", redis_argv(r2, work / "r2"))
    url1, url2 = f"redis://127.0.0.1:{r1}/0", f"redis://127.0.0.1:{r2}/0"
    launcher = str(VENV_BIN / "obsbox-instrument")
    common = {"OTEL_SERVICE_NAME": JOB, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
              "OTEL_LOGS_EXPORTER": "none", "OBSBOX_JOBS_QUEUE_INTERVAL": "5", "OBSBOX_LOG_LEVEL": "WARNING"}
    targets = []

    def worker(name: str, argv: list[str], **env: str) -> None:
        port = free_port()
        targets.append(f"127.0.0.1:{port}")
        start(name, [launcher, *argv], OBSBOX_PROMETHEUS_PORT=str(port), **common, **env)

    celery = [str(VENV_BIN / "celery"), "-A", "examples.jobs.celery_app", "worker", "-l", "warning",
              "--without-mingle", "--without-gossip"]
    worker("celery-invoices", [*celery, "-Q", "invoices", "-c", "2"], JOBS_BROKER_URL=url1)
    worker("celery-exports", [*celery, "-Q", "exports", "-c", "1"], JOBS_BROKER_URL=url1)
    worker("celery-emails", [*celery, "-Q", "emails", "-c", "2"], JOBS_BROKER_URL=url1)
    worker("celery-billing", [*celery, "-Q", "billing", "-c", "2"], JOBS_BROKER_URL=url2)
    rq = [str(VENV_BIN / "rq"), "worker", "--url", url1, "--logging_level", "WARNING"]
    worker("rq-webhooks", [*rq, "webhooks"])
    worker("rq-nightly-1", [*rq, "nightly"])
    worker("rq-nightly-2", [*rq, "nightly"])
    prom_port = free_port()
    config = {
        "global": {"scrape_interval": f"{SCRAPE_S}s", "scrape_timeout": "4s"},
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": targets}]}],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))
    prometheus = shutil.which("prometheus") or "/usr/bin/prometheus"
    start("prometheus", [prometheus, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
                         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"])
    prom_url = f"http://127.0.0.1:{prom_port}"
    try:
        for target in targets:
            assert wait_until(lambda t=target: _answers(f"http://{t}/metrics"), timeout=180), f"{target} never answered"
        # The producer: this process, configured like an instrumented web app (trace context and
        # the enqueue time go into every message; no metrics served).
        os.environ.update({"OBSBOX_PROMETHEUS_ENABLED": "false", "OTEL_TRACES_EXPORTER": "none",
                           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
                           "OBSBOX_JOBS_QUEUE_INTERVAL": "0", "JOBS_BROKER_URL": url1})
        import obsbox_instrumentation as obsbox

        obsbox.configure(service_name="invoicing-demo", log_level="WARNING")
        from celery import Celery
        from redis import Redis
        from rq import Queue

        from examples.jobs import celery_app

        billing_app = Celery("billing", broker=url2)
        billing_app.conf.update(broker_connection_retry=False, broker_connection_timeout=1)
        webhooks = Queue("webhooks", connection=Redis.from_url(url1))
        nightly = Queue("nightly", connection=Redis.from_url(url1))
        t0 = time.time()
        end = t0 + total
        counter = {"n": 0}

        def n() -> int:
            counter["n"] += 1
            return counter["n"]

        def invoices(t: float) -> None:
            task = "poison" if FAULT_AT <= t < 540 and n() % 2 else "render_invoice"
            celery_app.app.send_task(task, (n(),), queue="invoices")

        def exports(t: float) -> None:
            seconds = 1200.0 if FAULT_AT <= t < FAULT_AT + 2 else 0.2
            celery_app.app.send_task("render_invoice", (n(),), {"seconds": seconds}, queue="exports")

        def emails(t: float) -> None:
            flaky = FAULT_AT <= t < FAULT_AT + 120 and n() % 5 < 3
            celery_app.app.send_task("flaky" if flaky else "render_invoice", (n(),), queue="emails")

        def billing(t: float) -> None:
            billing_app.send_task("render_invoice", (n(),), queue="billing", retry=False)

        def hooks(t: float) -> None:
            webhooks.enqueue("examples.jobs.rq_app.render_invoice", n(), seconds=1.5 if t >= FAULT_AT else 0.05)

        threads = [
            threading.Thread(target=_every, args=(1.0, end, invoices, t0), daemon=True),
            threading.Thread(target=_every, args=(2.0, end, exports, t0), daemon=True),
            threading.Thread(target=_every, args=(1.0, end, emails, t0), daemon=True),
            threading.Thread(target=_every, args=(1.0, end, billing, t0), daemon=True),
            threading.Thread(target=_every, args=(1.0, end, hooks, t0), daemon=True),
        ]
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, t0 + 120 - time.time()))
        for i in range(600):
            nightly.enqueue("examples.jobs.rq_app.render_invoice", i, seconds=0.5)
        time.sleep(max(0.0, t0 + 300 - time.time()))
        redis2.stop()  # the broker outage
        time.sleep(max(0.0, t0 + 540 - time.time()))
        redis2 = start("redis2-again", redis_argv(r2, work / "r2"))
        time.sleep(max(0.0, end - time.time()))
        time.sleep(SCRAPE_S * 2)
        for rec in RECORDINGS:
            _export(rec, prom_url, t0, end, out)
    finally:
        for proc in reversed(procs):
            proc.stop()
    shutil.rmtree(work, ignore_errors=True)


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


def _export(rec: Recording, prom_url: str, t0: float, end: float, out: Path) -> None:
    matches = [arg for name in SERIES for arg in ("--match", f'{name}{{queue="{rec.queue}"}}')]
    # The window ends with the last scrape (a window past the data is refused by the replay).
    end = end - SCRAPE_S
    args = [
        sys.executable, "-m", "obsbox.cli", "record", "--prometheus", prom_url, *matches,
        "--start", _rfc3339(t0), "--end", _rfc3339(end), "--name", rec.name, "--out", str(out),
        "--kind", rec.kind, "--description", rec.description, "--force",
        "--source-detail",
        f"examples/jobs (Celery 5 / RQ workers under obsbox-instrument, Redis broker), scraped every {SCRAPE_S}s "
        f"by Prometheus, exported with obsbox record (python -m examples.jobs.record)",
    ]
    if rec.window is not None:
        w_end = rec.window[1] if rec.window[1] is not None else int(end - t0)
        args += ["--window", f"{_rfc3339(t0 + rec.window[0])}/{_rfc3339(min(t0 + w_end, end))}"]
    if rec.expect:
        args += ["--expect-alert", rec.expect, "--within", rec.within]
    subprocess.run(args, check=True, cwd=REPO_ROOT)
    if rec.expect:
        path = out / f"{rec.name}.yaml"
        manifest: dict[str, Any] = yaml.safe_load(path.read_text())
        for fire in manifest["expect"]["fire"]:
            fire["labels"] = {"queue": rec.queue}
        path.write_text(yaml.safe_dump(manifest, sort_keys=False, width=100))


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record the job incidents and noise from real Celery and RQ workers.")
    parser.add_argument("--out", type=Path, default=Path("alert_rules/incidents"))
    parser.add_argument("--minutes", type=float, default=13.0)
    ns = parser.parse_args(argv)
    run(ns.out.resolve(), ns.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
