"""A Celery app with the job shapes the tests and incident recordings need.

Broker from ``JOBS_BROKER_URL``; default queue from ``JOBS_QUEUE``. Run a worker with
``obsbox-instrument celery -A examples.jobs.celery_app worker ...``; enqueue with
``obsbox-instrument python -m examples.jobs.celery_app send TASK COUNT [--tenant T]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from celery import Celery

app = Celery("jobs", broker=os.environ.get("JOBS_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue=os.environ.get("JOBS_QUEUE", "invoices"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    task_ignore_result=True,
    # Prefetched messages leave the Redis list; one per pool process keeps the backlog visible.
    worker_prefetch_multiplier=1,
)
_log = logging.getLogger("jobs")


@app.task(name="render_invoice")
def render_invoice(n: int, seconds: float = 0.0) -> int:
    """The normal job: sleeps ``seconds`` (a slow dependency when large)."""
    if seconds:
        time.sleep(seconds)
    _log.info("rendered invoice %s", n)
    return n


@app.task(name="poison")
def poison(n: int) -> None:
    """Always fails."""
    raise ValueError(f"invoice {n} cannot be rendered")


@app.task(bind=True, name="flaky", max_retries=5)
def flaky(self, n: int, failures: int = 1) -> int:  # type: ignore[no-untyped-def]
    """Fails ``failures`` times, retrying each time, then succeeds."""
    if self.request.retries < failures:
        raise self.retry(countdown=0, exc=RuntimeError("dependency busy"))
    return n


@app.task(name="hang", time_limit=2)
def hang(n: int, seconds: float = 30.0) -> None:
    """Stuck: runs into the hard time limit (2 s) unless ``seconds`` is short."""
    time.sleep(seconds)


@app.task(name="crash")
def crash(n: int) -> None:
    """The pool child dies under the task (as an OOM kill would)."""
    os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="examples.jobs.celery_app")
    sub = parser.add_subparsers(dest="cmd", required=True)
    send = sub.add_parser("send", help="enqueue COUNT tasks, each in its own trace")
    send.add_argument("task")
    send.add_argument("count", type=int)
    send.add_argument("--tenant", default=None)
    send.add_argument("--seconds", type=float, default=None)
    send.add_argument("--queue", default=None)
    ns = parser.parse_args(argv)
    import obsbox_instrumentation as obsbox

    task = app.tasks[ns.task]
    kwargs = {} if ns.seconds is None else {"seconds": ns.seconds}
    for i in range(ns.count):
        with obsbox.tenant_context(ns.tenant):
            task.apply_async((i,), kwargs, queue=ns.queue)
    obsbox.shutdown(timeout=10.0)
    print(f"sent {ns.count} {ns.task}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
