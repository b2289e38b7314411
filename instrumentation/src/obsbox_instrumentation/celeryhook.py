"""Celery, instrumented through its signals: applied by configure() (and so by obsbox-instrument)
whenever Celery is installed. Replaces opentelemetry-instrumentation-celery.

- Enqueue (``before_task_publish``, in any process): a PRODUCER span ``send <queue> <task>``; its
  trace context, the baggage (tenant.id) and the enqueue time go into the message headers.
- Execution (``task_prerun``/``task_postrun``, in the process running the task): a CONSUMER span
  in the enqueuer's trace with the tenant set for the task's logs and spans, the queue lag
  (start minus enqueue time, or ETA when later) and ``obsbox_job_duration_seconds`` with outcome
  success, failure, retry, revoked or timeout.
- Ends the task's own process cannot report are reported by the worker's main process:
  a hard time limit (timeout), a pool child that died under the task (abandoned), a revoke.
- Pre-fork pool: a pool child exports its spans and metrics before it exits
  (``worker_process_shutdown``, which billiard runs in the child before ``os._exit``, e.g. when
  ``max_tasks_per_child`` recycles it); upstream's instrumentation loses that last batch.
- Queues: the worker's main process reads its queues' depth, oldest message age and live
  workers from Redis (see queues.py); so does every process that enqueued to a queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from . import importhook, jobs, queues
from . import runtime as rt
from .contract import (
    OUTCOME_ABANDONED,
    OUTCOME_FAILURE,
    OUTCOME_RETRY,
    OUTCOME_REVOKED,
    OUTCOME_SUCCESS,
    OUTCOME_TIMEOUT,
)
from .patches import is_wrapped, unwrap_methods, wrap_methods

_log = logging.getLogger(__name__)
_Handler = TypeVar("_Handler", bound=Callable[..., None])
CARRIER_KEYS = ("traceparent", "tracestate", "baggage")
DEFAULT_QUEUE = "celery"
CHILD_FLUSH_TIMEOUT_S = 5.0

_producer_spans: dict[str, Any] = {}
_active: dict[str, jobs.ActiveJob] = {}
_installed: list[tuple[Any, Any]] = []
# The classes whose methods are wrapped.
_patched: list[Any] = []
# (name in celery.signals, handler), registered by @_on where each handler is defined.
_HANDLERS: list[tuple[str, Callable[..., None]]] = []


def _on(signal_name: str) -> Callable[[_Handler], _Handler]:
    """Connect the decorated function to ``celery.signals.<signal_name>`` once Celery is imported."""

    def register(handler: _Handler) -> _Handler:
        _HANDLERS.append((signal_name, handler))
        return handler

    return register


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def carrier_of(request: Any) -> dict[str, str]:
    """The propagation headers of a task request (a Celery Context, or a request dict)."""
    carrier = {}
    for key in CARRIER_KEYS:
        value = _get(request, key)
        if isinstance(value, str) and value:
            carrier[key] = value
    return carrier


def queue_of(request: Any) -> str:
    info = _get(request, "delivery_info") or {}
    return str(info.get("routing_key") or DEFAULT_QUEUE) if isinstance(info, dict) else DEFAULT_QUEUE


def _timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC needs 3.11; this package supports 3.9)
    return parsed.timestamp()


def lag_seconds(enqueued_at: Any, eta: Any, now: float) -> float | None:
    """Waiting time before start: from the enqueue time, or from the ETA when it is later."""
    start = _timestamp(enqueued_at)
    if start is None:
        return None
    due = _timestamp(eta)
    if due is not None and due > start:
        start = due
    return max(0.0, now - start)


_producer_watched: set[str] = set()
# A forked child (a pool process, a gunicorn worker) reads for itself: forget the parent's set.
os.register_at_fork(after_in_child=_producer_watched.clear)


def _redis_url(app: Any) -> str | None:
    url = str(app.conf.broker_url or "")
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def _watch_from_producer(queue: str) -> None:
    """Read ``queue`` from this process too, once per process and queue (this runs per publish)."""
    if queue in _producer_watched:
        return
    _producer_watched.add(queue)
    with contextlib.suppress(Exception):
        from celery import current_app

        _watch(queue, _redis_url(current_app), consumer=False)


def _watch(queue: str, url: str | None, consumer: bool) -> None:
    if url is not None:
        queues.watch(queue, queues.CeleryRedis(), queues.redis_from_url(url), consumer=consumer)


# --- producer -------------------------------------------------------------------------------


@_on("before_task_publish")
def _before_publish(sender: Any = None, headers: Any = None, routing_key: Any = None, **_: Any) -> None:
    if rt.get() is None or not isinstance(headers, dict):
        return
    try:
        task_name = str(headers.get("task") or sender)
        queue = str(routing_key or DEFAULT_QUEUE)
        task_id = headers.get("id")
        span = jobs.start_producer_span(queue, task_name, {"messaging.system": "celery", "messaging.message.id": str(task_id)})
        jobs.inject_for(span, headers)
        headers[queues.ENQUEUED_AT_HEADER] = time.time()
        if span is not None and task_id:
            _producer_spans[str(task_id)] = span
        _watch_from_producer(queue)
    except Exception:
        _log.debug("obsbox: celery publish hook failed", exc_info=True)


@_on("after_task_publish")
def _after_publish(headers: Any = None, **_: Any) -> None:
    if not isinstance(headers, dict):
        return
    span = _producer_spans.pop(str(headers.get("id")), None)
    if span is not None:
        with contextlib.suppress(Exception):
            span.end()


# --- consumer (the process running the task) -----------------------------------------------


@_on("task_prerun")
def _prerun(task_id: Any = None, task: Any = None, **_: Any) -> None:
    if rt.get() is None or task is None:
        return
    try:
        request = task.request
        queue = queue_of(request)
        lag = lag_seconds(_get(request, queues.ENQUEUED_AT_HEADER), _get(request, "eta"), time.time())
        if lag is not None:
            jobs.record_lag(queue, task.name, lag)
        _active[str(task_id)] = jobs.start_job(
            queue, task.name, carrier=carrier_of(request),
            attributes={"messaging.system": "celery", "messaging.message.id": str(task_id)},
        )
    except Exception:
        _log.debug("obsbox: celery prerun hook failed", exc_info=True)


def _killed_by_main(exception: Any) -> bool:
    """The pool's main process is ending this child (hard time limit, terminate): it reports."""
    return isinstance(exception, (SystemExit, KeyboardInterrupt)) or type(exception).__name__ in (
        "Terminated", "WorkerLostError",
    )


@_on("task_failure")
def _failure(task_id: Any = None, exception: Any = None, **_: Any) -> None:
    job = _active.get(str(task_id))
    if job is None:
        return
    if _killed_by_main(exception):
        # Counted once, by the main process (timeout, revoked or abandoned); not here as well.
        _active.pop(str(task_id), None)
        job.discard()
        return
    with contextlib.suppress(Exception):
        from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

        job.outcome = OUTCOME_TIMEOUT if isinstance(exception, (SoftTimeLimitExceeded, TimeLimitExceeded)) else OUTCOME_FAILURE
        if isinstance(exception, BaseException):
            job.span.record_exception(exception)


@_on("task_retry")
def _retry(request: Any = None, **_: Any) -> None:
    job = _active.get(str(_get(request, "id")))
    if job is not None:
        job.outcome = OUTCOME_RETRY


STATE_OUTCOME = {"SUCCESS": OUTCOME_SUCCESS, "RETRY": OUTCOME_RETRY, "REVOKED": OUTCOME_REVOKED, "IGNORED": OUTCOME_SUCCESS}


@_on("task_postrun")
def _postrun(task_id: Any = None, state: Any = None, retval: Any = None, **_: Any) -> None:
    job = _active.pop(str(task_id), None)
    if job is None:
        return
    if state is None or (str(state) == "FAILURE" and _killed_by_main(retval)):
        # The main process stopped this child mid-task (SIGTERM at the hard time limit, a
        # terminate): Celery's trace ends with no state, and the main process reports the run.
        job.discard()
        return
    outcome = STATE_OUTCOME.get(str(state))
    if outcome is None:  # FAILURE, REJECTED, or a custom state: the failure hook chose, else failure
        outcome = job.outcome or OUTCOME_FAILURE
    job.finish(outcome)


# --- the worker's main process --------------------------------------------------------------


def _request_duration(request: Any) -> float:
    started = getattr(request, "time_start", None)
    return max(0.0, time.time() - started) if started else 0.0


def _report_from_main(request: Any, outcome: str, error: str) -> None:
    if getattr(request, "_obsbox_reported", False):
        return
    with contextlib.suppress(Exception):
        request._obsbox_reported = True
        headers = getattr(request, "_request_dict", None) or {}
        jobs.record_finished_job(
            queue_of(request), str(request.name), outcome,
            _request_duration(request), carrier=carrier_of(headers), error=error,
        )


@_on("task_revoked")
def _revoked(request: Any = None, sender: Any = None, **_: Any) -> None:
    """Runs in the main process: a task revoked before it ran, or terminated while running."""
    if rt.get() is None or request is None:
        return
    with contextlib.suppress(Exception):
        name = str(getattr(sender, "name", None) or _get(request, "task") or "unknown")
        jobs.record_finished_job(
            queue_of(request), name, OUTCOME_REVOKED, 0.0, carrier=carrier_of(request), error="revoked",
        )


def _patch_request() -> None:
    from celery.exceptions import WorkerLostError
    from celery.worker.request import Request

    if is_wrapped(Request):
        return
    on_timeout, on_failure = Request.on_timeout, Request.on_failure

    def patched_on_timeout(self: Any, soft: bool, timeout: Any) -> Any:
        if not soft:
            from celery.worker import state

            if not state.should_terminate:
                _report_from_main(self, OUTCOME_TIMEOUT, f"hard time limit ({timeout}s) exceeded")
        return on_timeout(self, soft, timeout)

    def patched_on_failure(self: Any, exc_info: Any, *args: Any, **kwargs: Any) -> Any:
        exc = getattr(exc_info, "exception", None)
        exc = getattr(exc, "exc", exc)  # ExceptionWithTraceback
        lost = isinstance(exc, WorkerLostError) or (
            isinstance(exc, (SystemExit, KeyboardInterrupt))
            and not (getattr(self, "_already_cancelled", False) or getattr(self, "_already_revoked", False))
        )
        if lost:
            _report_from_main(self, OUTCOME_ABANDONED, "the pool process running the task exited")
        return on_failure(self, exc_info, *args, **kwargs)

    wrap_methods(Request, {"on_timeout": patched_on_timeout, "on_failure": patched_on_failure})
    _patched.append(Request)


@_on("worker_init")
def _worker_init(**_: Any) -> None:
    with contextlib.suppress(Exception):
        _patch_request()
    if rt.get() is not None:
        # The main process's loop polls Redis many times a second: no trace per poll. Tasks
        # (in pool processes forked from here, or in this thread with the solo pool) are traced.
        jobs.suppress_library_internals()


@_on("worker_ready")
def _worker_ready(sender: Any = None, **_: Any) -> None:
    if rt.get() is None or sender is None:
        return
    try:
        url = _redis_url(sender.app)
        if url is None:
            scheme = str(sender.app.conf.broker_url or "").split(":", 1)[0]
            _log.info("obsbox: queue depth and workers are read from Redis brokers only (broker: %s)", scheme)
            return
        names = [q.name for q in sender.task_consumer.queues]
        for name in names:
            _watch(name, url, consumer=True)
    except Exception:
        _log.debug("obsbox: celery worker_ready hook failed", exc_info=True)


@_on("worker_shutdown")
def _worker_shutdown(**_: Any) -> None:
    queues.leave()


@_on("worker_process_init")
def _child_init(**_: Any) -> None:
    # A pool child: its parent reads the queues and beats for it.
    queues.suppress_in_this_process()


@_on("worker_process_shutdown")
def _child_shutdown(**_: Any) -> None:
    """In the pool child, before billiard's os._exit: export the spans and metrics it holds."""
    jobs.flush_process(CHILD_FLUSH_TIMEOUT_S)


def install() -> bool:
    """Connect obsbox to Celery's signals once Celery is imported; False when it is not installed."""
    return importhook.on_import("celery", _connect)


def _connect() -> None:
    from celery import signals

    if _installed:
        return
    for signal_name, handler in _HANDLERS:
        signal = getattr(signals, signal_name)
        signal.connect(handler, weak=False)
        _installed.append((signal, handler))


def uninstall() -> None:
    """Disconnect every handler and restore patched methods."""
    importhook.cancel("celery")
    while _installed:
        signal, handler = _installed.pop()
        with contextlib.suppress(Exception):
            signal.disconnect(handler)
    while _patched:
        unwrap_methods(_patched.pop())
    _producer_spans.clear()
    _active.clear()
    _producer_watched.clear()
    queues.unwatch_all()
