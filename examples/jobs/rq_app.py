"""RQ job functions the tests and incident recordings need, and an enqueue command.

Run a worker with ``obsbox-instrument rq worker --url REDIS_URL QUEUE``; enqueue with
``obsbox-instrument python -m examples.jobs.rq_app send FUNCTION COUNT --url REDIS_URL``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

_log = logging.getLogger("jobs")


def render_invoice(n: int, seconds: float = 0.0) -> int:
    if seconds:
        time.sleep(seconds)
    _log.info("rendered invoice %s", n)
    return n


def poison(n: int) -> None:
    raise ValueError(f"invoice {n} cannot be rendered")


def flaky(n: int, marker_dir: str = "") -> int:
    """Fails on the first run of each n (marker file), succeeds on the retry."""
    path = os.path.join(marker_dir or "/tmp", f"obsbox-flaky-{os.getppid()}-{n}")
    if not os.path.exists(path):
        open(path, "w").close()
        raise RuntimeError("dependency busy")
    return n


def hang(n: int, seconds: float = 30.0) -> None:
    time.sleep(seconds)


def crash(n: int) -> None:
    os._exit(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="examples.jobs.rq_app")
    sub = parser.add_subparsers(dest="cmd", required=True)
    send = sub.add_parser("send", help="enqueue COUNT jobs, each in its own trace")
    send.add_argument("function")
    send.add_argument("count", type=int)
    send.add_argument("--url", required=True)
    send.add_argument("--queue", default="invoices")
    send.add_argument("--tenant", default=None)
    send.add_argument("--seconds", type=float, default=None)
    send.add_argument("--timeout", type=int, default=None)
    send.add_argument("--retries", type=int, default=0)
    ns = parser.parse_args(argv)
    import obsbox_instrumentation as obsbox
    from redis import Redis
    from rq import Queue, Retry

    queue = Queue(ns.queue, connection=Redis.from_url(ns.url))
    kwargs = {} if ns.seconds is None else {"seconds": ns.seconds}
    for i in range(ns.count):
        with obsbox.tenant_context(ns.tenant):
            queue.enqueue(
                f"examples.jobs.rq_app.{ns.function}", i, **kwargs,
                job_timeout=ns.timeout, retry=Retry(max=ns.retries) if ns.retries else None,
            )
    obsbox.shutdown(timeout=10.0)
    print(f"sent {ns.count} {ns.function}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
