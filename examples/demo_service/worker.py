"""The report worker: takes report jobs from the Redis queue and runs them, instrumented.

    python -m examples.demo_service.worker --max-jobs 100 --duration 60

Each job runs under obsbox's job tracking (a CONSUMER span continuing the enqueuing request's
trace, the tenant in context and logs, obsbox_job_duration_seconds by outcome); after every
job and while idle the worker reports the queue depth and the age of the oldest waiting job.
Fault switches (OBSBOX_DEMO_FAULTS / OBSBOX_DEMO_FAULTS_FILE, "jobs" part) make jobs fail or slow.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
import zlib
from dataclasses import dataclass

from .faults import FaultSwitches
from .jobs import Job, ReportQueue
from .settings import DemoSettings, load_settings

log = logging.getLogger("examples.demo_service.worker")

BASE_WORK_S = 0.02


class InjectedJobFailure(RuntimeError):
    """A job failure requested by the fault switches."""


@dataclass
class WorkerResult:
    succeeded: int = 0
    failed: int = 0

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed


def run_report(job: Job, switches: FaultSwitches, stop: threading.Event) -> dict[str, int]:
    """Build the (fake) report: a little work, plus injected slowness or failure."""
    fail, slow_s = switches.job_decision()
    stop.wait(BASE_WORK_S + slow_s)  # the job's work, interruptible by shutdown
    if fail:
        raise InjectedJobFailure(f"injected failure of {job.kind} report {job.id}")
    return {"rows": zlib.crc32(job.id.encode()) % 1000}


def run_worker(
    settings: DemoSettings | None = None,
    *,
    max_jobs: int | None = None,
    duration_s: float | None = None,
    switches: FaultSwitches | None = None,
    stop: threading.Event | None = None,
) -> WorkerResult:
    """Consume jobs until max_jobs, duration_s or stop; returns the counts."""
    settings = settings or load_settings()
    switches = switches or FaultSwitches.from_env()
    stop = stop or threading.Event()
    queue = ReportQueue(settings.redis_url, settings.queue)
    if settings.instrument != "off":
        from obsbox_instrumentation import configure

        configure(service_name=f"{settings.service_name}-worker")
    from obsbox_instrumentation import jobs

    result = WorkerResult()
    deadline = time.monotonic() + duration_s if duration_s is not None else None
    with jobs.worker_alive(queue.name):
        while not stop.is_set():
            if max_jobs is not None and result.processed >= max_jobs:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            jobs.record_queue_stats(queue.name, depth=queue.depth(), oldest_age_s=queue.oldest_age())
            job = queue.take(timeout_s=1.0)
            if job is None:
                continue
            try:
                with jobs.track_job(
                    queue.name, f"report.{job.kind}", tenant_id=job.tenant, carrier=job.carrier
                ):
                    report = run_report(job, switches, stop)
                    log.info("report job %s done: %d rows", job.id, report["rows"])
                result.succeeded += 1
            except InjectedJobFailure as exc:
                # the job framework already recorded it as a failure; the worker keeps going
                log.error("report job %s failed: %s", job.id, exc)
                result.failed += 1
        jobs.record_queue_stats(queue.name, depth=queue.depth(), oldest_age_s=queue.oldest_age())
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="the demo's report worker")
    p.add_argument("--max-jobs", type=int, default=None, help="stop after this many jobs")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    args = p.parse_args(argv)
    if args.max_jobs is not None and args.max_jobs < 1:
        p.error("--max-jobs must be >= 1")
    if args.duration is not None and args.duration <= 0:
        p.error("--duration must be > 0")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        result = run_worker(max_jobs=args.max_jobs, duration_s=args.duration, stop=stop)
    except KeyboardInterrupt:
        return 130
    print(f"worker done: succeeded={result.succeeded} failed={result.failed}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
