"""RQ, instrumented by wrapping a few of its methods: applied by configure() (and so by
obsbox-instrument) whenever RQ is installed. RQ has no upstream OpenTelemetry instrumentation.

- ``Queue.enqueue_job`` (every enqueue path ends there, in any process): a PRODUCER span
  ``send <queue> <function>``; its trace context and baggage (tenant.id) go into
  ``job.meta["obsbox_context"]``, saved with the job.
- ``Worker.perform_job`` (in the work horse RQ forks per job, or in-process for SimpleWorker):
  a CONSUMER span in the enqueuer's trace with the tenant set, the queue lag (start minus
  ``enqueued_at``) and ``obsbox_job_duration_seconds`` with outcome success, failure, retry
  (the job has retries left) or timeout (RQ's JobTimeoutException). A work horse exports its
  spans and metrics before RQ's ``os._exit``; nothing else would.
- ``Worker.handle_job_failure`` in the worker's main process (the horse died under the job:
  OOM kill, segfault, or RQ's monitor killed it): outcome abandoned (or timeout when the job
  outlived its timeout, revoked when it was stopped with ``send_stop_job_command``).
- ``Worker.work``: the worker's main process reads its queues' depth, oldest job age, failed
  registry and live workers from Redis (see queues.py); so does every process that enqueued.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from . import importhook, jobs, queues
from . import runtime as rt
from .contract import OUTCOME_ABANDONED, OUTCOME_FAILURE, OUTCOME_RETRY, OUTCOME_REVOKED, OUTCOME_TIMEOUT
from .patches import unwrap_methods, wrap_methods

_log = logging.getLogger(__name__)
META_KEY = "obsbox_context"
HORSE_FLUSH_TIMEOUT_S = 5.0

# The classes whose methods are wrapped.
_patched: list[Any] = []


class _Current(threading.local):
    job: jobs.ActiveJob | None = None


_current = _Current()


def _seconds_since(moment: Any, now: float) -> float | None:
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC needs 3.11; this package supports 3.9)
    return max(0.0, now - moment.timestamp())


def job_name(job: Any) -> str:
    with contextlib.suppress(Exception):
        return str(job.func_name)
    return "unknown"


def _carrier(job: Any) -> dict[str, str]:
    meta = getattr(job, "meta", None) or {}
    value = meta.get(META_KEY) if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _prefix(queue: Any) -> str:
    prefix = str(getattr(type(queue), "redis_queue_namespace_prefix", "rq:queue:"))
    return prefix.removesuffix(":queue:") or "rq"


def _watch(queue: Any, consumer: bool) -> None:
    with contextlib.suppress(Exception):
        queues.watch(queue.name, queues.RqRedis(_prefix(queue)), queues.redis_like(queue.connection), consumer=consumer)


def _patch(owner: Any, name: str, make: Any) -> None:
    wrap_methods(owner, {name: make(owner.__dict__[name])})
    if owner not in _patched:
        _patched.append(owner)


def _enqueue_job(original: Any) -> Any:
    def enqueue_job(self: Any, job: Any, *args: Any, **kwargs: Any) -> Any:
        if rt.get() is None:
            return original(self, job, *args, **kwargs)
        span = None
        try:
            span = jobs.start_producer_span(self.name, job_name(job), {"messaging.system": "rq", "messaging.message.id": str(job.id)})
            carrier: dict[str, str] = {}
            jobs.inject_for(span, carrier)
            if carrier:
                job.meta[META_KEY] = carrier
        except Exception:
            _log.debug("obsbox: rq enqueue hook failed", exc_info=True)
        try:
            return original(self, job, *args, **kwargs)
        except BaseException as exc:
            if span is not None:
                with contextlib.suppress(Exception):
                    span.record_exception(exc)
            raise
        finally:
            if span is not None:
                with contextlib.suppress(Exception):
                    span.end()
            _watch(self, consumer=False)

    return enqueue_job


def _perform_job(original: Any) -> Any:
    def perform_job(self: Any, job: Any, queue: Any, *args: Any, **kwargs: Any) -> Any:
        if rt.get() is None:
            return original(self, job, queue, *args, **kwargs)
        horse = bool(getattr(self, "_is_horse", False))
        if horse:
            queues.suppress_in_this_process()
        active = None
        try:
            name = job_name(job)
            lag = _seconds_since(getattr(job, "enqueued_at", None), time.time())
            if lag is not None:
                jobs.record_lag(queue.name, name, lag)
            active = jobs.start_job(
                queue.name, name, carrier=_carrier(job),
                attributes={"messaging.system": "rq", "messaging.message.id": str(job.id)},
            )
            _current.job = active
        except Exception:
            _log.debug("obsbox: rq perform hook failed", exc_info=True)
        try:
            return original(self, job, queue, *args, **kwargs)
        finally:
            _current.job = None
            if active is not None:
                active.finish()
            if horse:
                # RQ leaves the horse with os._exit(): no atexit, no batch processor flush.
                jobs.flush_process(HORSE_FLUSH_TIMEOUT_S)

    return perform_job


def _handle_exception(original: Any) -> Any:
    def handle_exception(self: Any, job: Any, *exc_info: Any) -> Any:
        active = _current.job
        if active is not None and len(exc_info) >= 2:
            with contextlib.suppress(Exception):
                from rq.timeouts import JobTimeoutException

                exc = exc_info[1]
                active.outcome = OUTCOME_TIMEOUT if isinstance(exc, JobTimeoutException) else OUTCOME_FAILURE
                if isinstance(exc, BaseException):
                    active.span.record_exception(exc)
        return original(self, job, *exc_info)

    return handle_exception


def _handle_job_failure(original: Any) -> Any:
    def handle_job_failure(self: Any, job: Any, queue: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            stopped = getattr(self, "_stopped_job_id", None) == job.id
            retry = bool(job.should_retry) and not stopped
            active = _current.job
            if active is not None:  # in the horse, after handle_exception chose failure or timeout
                if retry:
                    active.outcome = OUTCOME_RETRY
                elif active.outcome is None:
                    active.outcome = OUTCOME_FAILURE
            elif rt.get() is not None:  # the main process: the horse is gone
                exc_string = str(kwargs.get("exc_string", args[1] if len(args) > 1 else ""))
                ran = _seconds_since(getattr(job, "started_at", None), time.time()) or 0.0
                timeout = getattr(job, "timeout", None)
                if retry:
                    outcome = OUTCOME_RETRY
                elif stopped:
                    outcome = OUTCOME_REVOKED
                elif isinstance(timeout, (int, float)) and timeout > 0 and ran > timeout:
                    outcome = OUTCOME_TIMEOUT
                else:
                    outcome = OUTCOME_ABANDONED
                jobs.record_finished_job(
                    queue.name, job_name(job), outcome, ran, carrier=_carrier(job), error=exc_string[:200] or outcome,
                )
        except Exception:
            _log.debug("obsbox: rq failure hook failed", exc_info=True)
        return original(self, job, queue, *args, **kwargs)

    return handle_job_failure


def _handle_job_retry(original: Any) -> Any:
    def handle_job_retry(self: Any, job: Any, *args: Any, **kwargs: Any) -> Any:
        # The job returned rq.Retry: it runs again (RQ fails it instead once retry.max is reached).
        active = _current.job
        if active is not None:
            active.outcome = OUTCOME_RETRY
        return original(self, job, *args, **kwargs)

    return handle_job_retry


def _work(original: Any) -> Any:
    def work(self: Any, *args: Any, **kwargs: Any) -> Any:
        if rt.get() is not None:
            for queue in getattr(self, "queues", ()):
                _watch(queue, consumer=True)
            # RQ's loop (BLPOP, heartbeats, registries) is not the application's work: no trace
            # per poll; the jobs (in horses forked from here) are traced.
            jobs.suppress_library_internals()
        try:
            return original(self, *args, **kwargs)
        finally:
            queues.leave([q.name for q in getattr(self, "queues", ())])

    return work


def install() -> bool:
    """Wrap RQ's enqueue, perform and failure paths once RQ is imported; False when it is not installed."""
    return importhook.on_import("rq", _apply)


def _apply() -> None:
    from rq.queue import Queue
    from rq.worker import BaseWorker

    if _patched:
        return
    try:
        _patch(Queue, "enqueue_job", _enqueue_job)
        _patch(BaseWorker, "perform_job", _perform_job)
        _patch(BaseWorker, "handle_exception", _handle_exception)
        _patch(BaseWorker, "handle_job_failure", _handle_job_failure)
        _patch(BaseWorker, "handle_job_retry", _handle_job_retry)
        _patch(BaseWorker, "work", _work)
    except KeyError as exc:  # an RQ release without one of these methods
        uninstall()
        _log.warning("obsbox: RQ %s is not supported (no %s); RQ jobs are not instrumented", _rq_version(), exc)


def _rq_version() -> str:
    with contextlib.suppress(Exception):
        import rq

        return str(rq.__version__)
    return "?"


def uninstall() -> None:
    importhook.cancel("rq")
    while _patched:
        unwrap_methods(_patched.pop())
    queues.unwatch_all()
