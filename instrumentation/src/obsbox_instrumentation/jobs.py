"""Background jobs: a span and obsbox_job_duration_seconds per job, queue and worker gauges.

    from obsbox_instrumentation import jobs

    carrier = jobs.inject_context({})          # when enqueuing: traceparent + baggage (tenant)
    with jobs.track_job("emails", "send_welcome", tenant_id=payload["tenant"], carrier=carrier) as job:
        if not ready:
            job.retry()                        # outcome "retry" instead of "success"
        ...                                    # an exception -> outcome "failure", re-raised
    jobs.record_queue_stats("emails", depth=12, oldest_age_s=3.5)
    with jobs.worker_alive("emails"):          # obsbox_job_workers{queue="emails"} += 1 meanwhile
        run_worker_loop()

Before configure() every call here is a no-op (the job still runs), so libraries can use it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .contract import ATTR_TENANT, OUTCOME_FAILURE, OUTCOME_RETRY, OUTCOME_SUCCESS
from .tenant import current_tenant, tenant_context


class JobHandle:
    """Lets the job body choose its outcome."""

    __slots__ = ("outcome", "span")

    def __init__(self, span: Any) -> None:
        self.outcome: str | None = None
        self.span = span

    def retry(self) -> None:
        """Mark this run as a retry (it will run again); recorded with outcome="retry"."""
        self.outcome = OUTCOME_RETRY

    def fail(self) -> None:
        """Mark this run failed without raising."""
        self.outcome = OUTCOME_FAILURE


def inject_context(carrier: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Put the current trace context and baggage (tenant.id) into a job payload's carrier."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def track_job(
    queue: str,
    job_name: str,
    *,
    tenant_id: str | None = None,
    carrier: Mapping[str, str] | None = None,
) -> Iterator[JobHandle]:
    """Run one job under a CONSUMER span, its tenant context and the duration histogram."""
    runtime = rt.get()
    parent = propagate.extract(carrier) if carrier else None
    token = context.attach(parent) if parent is not None else None
    try:
        tenant = tenant_id if tenant_id is not None else current_tenant()
        with tenant_context(tenant):
            if runtime is None:
                yield JobHandle(trace.INVALID_SPAN)
                return
            attributes: dict[str, Any] = {
                "messaging.destination.name": queue, "messaging.operation.type": "process", "job.name": job_name,
            }
            if tenant:
                attributes[ATTR_TENANT] = tenant
            span = runtime.tracer.start_span(f"process {queue} {job_name}", kind=SpanKind.CONSUMER, attributes=attributes)
            handle = JobHandle(span)
            start = time.perf_counter()
            span_token = context.attach(trace.set_span_in_context(span))
            try:
                yield handle
            except BaseException as exc:
                if handle.outcome is None:
                    handle.outcome = OUTCOME_FAILURE
                span.record_exception(exc)
                raise
            finally:
                context.detach(span_token)
                outcome = handle.outcome or OUTCOME_SUCCESS
                try:
                    span.set_attribute("job.outcome", outcome)
                    if outcome == OUTCOME_FAILURE:
                        span.set_status(Status(StatusCode.ERROR))
                    span.end()
                    runtime.recorder.job(queue, job_name, outcome, time.perf_counter() - start)
                except Exception:
                    pass
    finally:
        if token is not None:
            context.detach(token)


def record_queue_stats(queue: str, depth: float, oldest_age_s: float) -> None:
    """Report a queue's depth and its oldest waiting job's age (0 when empty)."""
    runtime = rt.get()
    if runtime is None:
        return
    with contextlib.suppress(Exception):
        runtime.recorder.queue_stats(queue, depth, oldest_age_s)


def set_workers(queue: str, count: int) -> None:
    """This process's count of live workers consuming ``queue`` (summed over live processes)."""
    runtime = rt.get()
    if runtime is None:
        return
    with contextlib.suppress(Exception):
        runtime.recorder.workers(queue, count)


@contextlib.contextmanager
def worker_alive(queue: str) -> Iterator[None]:
    """Count this process as one worker of ``queue`` while the block runs."""
    set_workers(queue, 1)
    try:
        yield
    finally:
        set_workers(queue, 0)
