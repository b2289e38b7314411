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

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .contract import (
    ATTR_TENANT,
    BAGGAGE_TENANT,
    OUTCOME_FAILURE,
    OUTCOME_RETRY,
    OUTCOME_SUCCESS,
    OUTCOME_TIMEOUT,
)
from .tenant import clean_tenant, current_tenant


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


class ActiveJob(JobHandle):
    """A job started with :func:`start_job`: its span, tenant and parent context are current
    until :meth:`finish` (which must run in the same thread, after anything attached later).

    For integrations whose start and end are separate callbacks (Celery's task_prerun and
    task_postrun signals) rather than one block.
    """

    __slots__ = ("_queue", "_job_name", "_start", "_tokens", "_finished", "_runtime")

    def __init__(self, span: Any, queue: str, job_name: str, runtime: Any, tokens: list[Any]) -> None:
        super().__init__(span)
        self._queue = queue
        self._job_name = job_name
        self._runtime = runtime
        self._tokens = tokens
        self._start = time.perf_counter()
        self._finished = False

    def _restore(self) -> None:
        while self._tokens:
            with contextlib.suppress(Exception):
                context.detach(self._tokens.pop())

    def timeout(self) -> None:
        """The library's time limit stopped this run."""
        self.outcome = OUTCOME_TIMEOUT

    def discard(self) -> None:
        """Restore the caller's context without recording anything: another process reports
        this run (the span is never ended, so it is never exported)."""
        if not self._finished:
            self._finished = True
            self._restore()

    def finish(self, outcome: str | None = None, exc: BaseException | None = None) -> None:
        """End the span, record the duration with its outcome and restore the caller's context.

        ``outcome`` wins over one chosen in the body; an exception without either is a failure.
        """
        if self._finished:
            return
        self._finished = True
        if outcome is not None:
            self.outcome = outcome
        if exc is not None and self.outcome is None:
            self.outcome = OUTCOME_FAILURE
        try:
            if self._runtime is not None:
                final = self.outcome or OUTCOME_SUCCESS
                try:
                    if exc is not None:
                        self.span.record_exception(exc)
                    self.span.set_attribute("job.outcome", final)
                    if final not in (OUTCOME_SUCCESS, OUTCOME_RETRY):
                        self.span.set_status(Status(StatusCode.ERROR))
                    self.span.end()
                    self._runtime.recorder.job(self._queue, self._job_name, final, time.perf_counter() - self._start)
                except Exception:
                    pass
        finally:
            self._restore()


def _job_attributes(queue: str, job_name: str, tenant: str | None, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.destination.name": queue, "messaging.operation.type": "process", "job.name": job_name,
    }
    if tenant:
        attributes[ATTR_TENANT] = tenant
    if extra:
        attributes.update(extra)
    return attributes


def start_job(
    queue: str,
    job_name: str,
    *,
    tenant_id: str | None = None,
    carrier: Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> ActiveJob:
    """Start one job run: continue the trace in ``carrier``, set its tenant, start a CONSUMER span.

    Call :meth:`ActiveJob.finish` when it ends. Before configure() nothing is recorded but the
    tenant and parent context are still set for the job's own code.
    """
    tokens: list[Any] = []
    try:
        if carrier:
            tokens.append(context.attach(propagate.extract(carrier)))
        tenant = current_tenant()  # from the enqueuer's baggage
        if tenant_id is not None:
            cleaned = clean_tenant(tenant_id)
            if cleaned is not None and cleaned != tenant:
                tokens.append(context.attach(baggage.set_baggage(BAGGAGE_TENANT, cleaned)))
                tenant = cleaned
        if context.get_value(_SUPPRESS_INSTRUMENTATION_KEY):
            # A worker loop suppresses tracing of its own broker polling (see
            # suppress_library_internals); the job's own calls are traced again.
            tokens.append(context.attach(context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, False)))
        runtime = rt.get()
        if runtime is None:
            return ActiveJob(trace.INVALID_SPAN, queue, job_name, None, tokens)
        # The lean tracer (leanspan.py): an SDK span costs more than the rest of the job's
        # instrumentation together; this one is converted on the export thread.
        span = runtime.server_tracer.start_span(
            f"process {queue} {job_name}", None, SpanKind.CONSUMER,
            _job_attributes(queue, job_name, tenant, attributes),
        )
        tokens.append(context.attach(trace.set_span_in_context(span)))
        return ActiveJob(span, queue, job_name, runtime, tokens)
    except BaseException:
        while tokens:
            context.detach(tokens.pop())
        raise


@contextlib.contextmanager
def track_job(
    queue: str,
    job_name: str,
    *,
    tenant_id: str | None = None,
    carrier: Mapping[str, str] | None = None,
) -> Iterator[JobHandle]:
    """Run one job under a CONSUMER span, its tenant context and the duration histogram."""
    job = start_job(queue, job_name, tenant_id=tenant_id, carrier=carrier)
    try:
        yield job
    except BaseException as exc:
        job.finish(exc=exc)
        raise
    job.finish()


def suppress_library_internals() -> None:
    """From now on, in this thread (and in processes forked from it), instrumentations skip their
    spans: for a worker's main loop, whose Redis polling would otherwise be one trace per poll
    (opentelemetry-instrumentation-redis). Jobs started with :func:`start_job` are traced again."""
    context.attach(context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))


def record_finished_job(
    queue: str,
    job_name: str,
    outcome: str,
    seconds: float,
    *,
    carrier: Mapping[str, str] | None = None,
    tenant_id: str | None = None,
    error: str | None = None,
) -> None:
    """Record a job run that ended where it could not be watched: the process running it was
    killed (time limit, OOM) and its supervisor reports the end. A CONSUMER span covering the
    last ``seconds`` joins the enqueuer's trace, and the duration is counted with ``outcome``."""
    runtime = rt.get()
    if runtime is None:
        return
    with contextlib.suppress(Exception):
        parent = propagate.extract(carrier) if carrier else None
        tenant = tenant_id if tenant_id is not None else current_tenant(parent)
        end_ns = time.time_ns()
        span = runtime.tracer.start_span(
            f"process {queue} {job_name}", context=parent, kind=SpanKind.CONSUMER,
            attributes=_job_attributes(queue, job_name, tenant, {"job.outcome": outcome}),
            start_time=end_ns - int(max(seconds, 0.0) * 1e9),
        )
        if outcome not in (OUTCOME_SUCCESS, OUTCOME_RETRY):
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end_ns)
        runtime.recorder.job(queue, job_name, outcome, max(seconds, 0.0))


def record_lag(queue: str, job_name: str, seconds: float) -> None:
    """How long the job waited in the queue before it started."""
    runtime = rt.get()
    if runtime is None:
        return
    with contextlib.suppress(Exception):
        runtime.recorder.job_lag(queue, job_name, max(seconds, 0.0))


def start_producer_span(queue: str, job_name: str, attributes: Mapping[str, Any] | None = None) -> Any:
    """A PRODUCER span for enqueuing one job; None before configure(). The caller ends it."""
    runtime = rt.get()
    if runtime is None:
        return None
    attrs: dict[str, Any] = {
        "messaging.destination.name": queue, "messaging.operation.type": "send", "job.name": job_name,
    }
    tenant = current_tenant()
    if tenant:
        attrs[ATTR_TENANT] = tenant
    if attributes:
        attrs.update(attributes)
    return runtime.server_tracer.start_span(f"send {queue} {job_name}", None, SpanKind.PRODUCER, attrs)


def inject_for(span: Any, carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Put ``span``'s trace context (or the current one when None) and the baggage in ``carrier``."""
    ctx = trace.set_span_in_context(span) if span is not None else None
    propagate.inject(carrier, context=ctx)
    return carrier


def flush_process(timeout_s: float = 5.0) -> None:
    """Export what this process holds now: for a child about to ``os._exit`` (a recycled Celery
    pool child, an RQ work horse), where no atexit handler runs and the batch would be lost."""
    runtime = rt.get()
    if runtime is None:
        return
    millis = int(timeout_s * 1000)
    for provider in (runtime.tracer_provider, runtime.logger_provider):
        if provider is not None:
            with contextlib.suppress(Exception):
                provider.force_flush(millis)
    with contextlib.suppress(Exception):
        runtime.recorder.flush()
    if runtime.meter_provider is not None and _pushes_metrics(runtime):
        with contextlib.suppress(Exception):
            runtime.meter_provider.force_flush(millis)


def _pushes_metrics(runtime: Any) -> bool:
    readers = getattr(getattr(runtime.meter_provider, "_sdk_config", None), "metric_readers", ())
    return any(type(r).__name__ == "PeriodicExportingMetricReader" for r in readers)


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
