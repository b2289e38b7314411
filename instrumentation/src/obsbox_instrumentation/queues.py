"""Queue signals read from the broker itself: depth, oldest waiting job, live workers, failed jobs.

Why from the broker: a gauge written by a worker when it finishes a job stops moving exactly when
it matters (a stuck pool finishes nothing, so the backlog looked flat). Here a background thread
in each process that touches a queue reads the queue in Redis every
``OBSBOX_JOBS_QUEUE_INTERVAL`` seconds (default 15; 0 turns it off) and sets
``obsbox_job_queue_depth``, ``obsbox_job_queue_oldest_age_seconds``, ``obsbox_job_workers``,
``obsbox_job_failed_registry`` (RQ) and ``obsbox_job_broker_up``. No second exporter process:
the numbers leave with the process's other metrics (its /metrics page or OTLP push).

Which processes read: a Celery worker's main process (not its pool children), an RQ worker's
main process (not its work horses), and every process that enqueued to the queue (a web app),
so the backlog stays visible when every worker is gone.

Live workers: each worker process adds itself to a sorted set ``obsbox:jobs:workers:<queue>``
(member ``host:pid``, score the time) every interval; the count is the members seen in the last
three intervals. A killed worker drops out within three intervals; a stuck pool whose main
process still runs stays counted, and its queue's growing age is what shows it.

Cost per process and interval, per queue, in one pipelined round trip (two for RQ):
Celery: LLEN + LINDEX (the oldest message, to read obsbox's enqueue-time header) + ZCOUNT,
plus ZADD + ZREMRANGEBYSCORE in workers; RQ: LLEN + LINDEX + ZCARD (failed registry) + ZCOUNT
(+ ZADD, ZREMRANGEBYSCORE in workers) and one HGET of the oldest job's ``enqueued_at``. That is
3 to 7 O(1)/O(log n) commands per queue per process every 15 s: with 20 processes and 5 queues,
about 30 commands a second.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from opentelemetry import context as otel_context

from . import runtime as rt

_log = logging.getLogger(__name__)

OBSBOX_JOBS_QUEUE_INTERVAL = "OBSBOX_JOBS_QUEUE_INTERVAL"
DEFAULT_INTERVAL_S = 15.0
WORKERS_KEY = "obsbox:jobs:workers:{queue}"
# Header obsbox adds to every Celery message: the enqueue time (UNIX seconds).
ENQUEUED_AT_HEADER = "obsbox_enqueued_at"
# A worker counts as alive while its heartbeat is younger than this many intervals.
ALIVE_INTERVALS = 3
REDIS_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest_age_s: float
    workers: int
    failed: int | None = None  # None: the library keeps no failed-job store


def interval_from_env(env: Any = None) -> float:
    raw = (os.environ if env is None else env).get(OBSBOX_JOBS_QUEUE_INTERVAL, "")
    if not raw.strip():
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{OBSBOX_JOBS_QUEUE_INTERVAL}={raw!r}: not a number of seconds") from None
    if value < 0:
        raise ValueError(f"{OBSBOX_JOBS_QUEUE_INTERVAL}={raw!r}: must be 0 (off) or positive")
    return value


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def celery_message_enqueued_at(raw: Any) -> float | None:
    """The enqueue time obsbox put in a Celery message as Redis holds it (kombu's JSON envelope)."""
    if raw is None:
        return None
    try:
        envelope = json.loads(raw)
        value = envelope.get("headers", {}).get(ENQUEUED_AT_HEADER)
        return float(value) if value is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


def rq_enqueued_at(raw: Any) -> float | None:
    """RQ's ``enqueued_at`` field (``%Y-%m-%dT%H:%M:%S.%fZ``, UTC) as UNIX seconds."""
    if raw is None:
        return None
    try:
        parsed = datetime.strptime(_text(raw), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        try:
            parsed = datetime.strptime(_text(raw), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return None
    return parsed.replace(tzinfo=timezone.utc).timestamp()  # noqa: UP017 (datetime.UTC needs 3.11; this package supports 3.9)


def age(enqueued_at: float | None, now: float) -> float:
    return max(0.0, now - enqueued_at) if enqueued_at is not None else 0.0


class Broker:
    """How one library lays a queue out in Redis."""

    def read(self, client: Any, queue: str, now: float, heartbeat: str | None, window_s: float) -> QueueStats:
        raise NotImplementedError


def _workers_commands(pipe: Any, queue: str, now: float, heartbeat: str | None, window_s: float) -> None:
    key = WORKERS_KEY.format(queue=queue)
    if heartbeat is not None:
        pipe.zadd(key, {heartbeat: now})
        pipe.zremrangebyscore(key, "-inf", now - window_s)
        # Forgotten entirely when no worker of this queue has beaten for a day.
        pipe.expire(key, 86400)
    pipe.zcount(key, now - window_s, "+inf")


class CeleryRedis(Broker):
    """kombu's Redis transport: one list per queue, LPUSH to publish and BRPOP to consume, so the
    oldest message is at index -1. Only the default priority's list is read (kombu keeps other
    priority levels in lists named ``<queue>\\x06\\x16<n>`` when priority steps are used)."""

    def read(self, client: Any, queue: str, now: float, heartbeat: str | None, window_s: float) -> QueueStats:
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue)
        pipe.lindex(queue, -1)
        _workers_commands(pipe, queue, now, heartbeat, window_s)
        results = pipe.execute()
        depth, oldest = int(results[0]), results[1]
        return QueueStats(depth, age(celery_message_enqueued_at(oldest), now) if depth else 0.0, int(results[-1]))


class RqRedis(Broker):
    """RQ: ``rq:queue:<name>`` holds job ids (RPUSH, popped from the left: the oldest is at 0),
    ``rq:job:<id>`` the job hash with ``enqueued_at``, ``rq:failed:<name>`` the failed registry."""

    def __init__(self, prefix: str = "rq") -> None:
        self.prefix = prefix

    def read(self, client: Any, queue: str, now: float, heartbeat: str | None, window_s: float) -> QueueStats:
        pipe = client.pipeline(transaction=False)
        pipe.llen(f"{self.prefix}:queue:{queue}")
        pipe.lindex(f"{self.prefix}:queue:{queue}", 0)
        pipe.zcard(f"{self.prefix}:failed:{queue}")
        _workers_commands(pipe, queue, now, heartbeat, window_s)
        results = pipe.execute()
        depth, oldest_id, failed = int(results[0]), results[1], int(results[2])
        oldest_age = 0.0
        if depth and oldest_id is not None:
            enqueued = client.hget(f"{self.prefix}:job:{_text(oldest_id)}", "enqueued_at")
            oldest_age = age(rq_enqueued_at(enqueued), now)
        return QueueStats(depth, oldest_age, int(results[-1]), failed)


@dataclass
class _Watched:
    broker: Broker
    client_factory: Callable[[], Any]
    consumer: bool = False
    client: Any = None


@dataclass
class _Collector:
    watched: dict[str, _Watched] = field(default_factory=dict)
    pid: int = 0
    suppressed_pid: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)


_state = _Collector()


def suppress_in_this_process() -> None:
    """This process is a short-lived child (a pool child, a work horse): never read queues here;
    its parent does."""
    _state.suppressed_pid = os.getpid()


def watch(queue: str, broker: Broker, client_factory: Callable[[], Any], *, consumer: bool = False) -> None:
    """Read ``queue`` from now on in this process (``consumer``: also beat as one of its workers)."""
    if rt.get() is None or _state.suppressed_pid == os.getpid():
        return
    interval = interval_from_env()
    if interval <= 0:
        return
    with _state.lock:
        if _state.pid != os.getpid():
            # A forked child: the parent's thread did not come along, nor may its connections.
            _state.watched = {q: _Watched(w.broker, w.client_factory) for q, w in _state.watched.items()}
            _state.pid = os.getpid()
            _state.wake = threading.Event()
            threading.Thread(target=_run, args=(interval,), name="obsbox-queues", daemon=True).start()
        current = _state.watched.get(queue)
        if current is None:
            _state.watched[queue] = _Watched(broker, client_factory, consumer)
            _state.wake.set()
        elif consumer and not current.consumer:
            current.consumer = True
            _state.wake.set()


def unwatch_all() -> None:
    """Stop reading every queue (the thread idles); workers' heartbeats stop with it."""
    with _state.lock:
        _state.watched = {}


def heartbeat_member() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def collect_once(now: float | None = None) -> dict[str, QueueStats | None]:
    """Read every watched queue once and record the gauges; None for a queue whose broker failed."""
    runtime = rt.get()
    interval = interval_from_env()
    window = max(interval, 1.0) * ALIVE_INTERVALS
    with _state.lock:
        items = list(_state.watched.items())
    out: dict[str, QueueStats | None] = {}
    for queue, watched in items:
        stamp = time.time() if now is None else now
        try:
            if watched.client is None:
                watched.client = watched.client_factory()
            stats: QueueStats | None = watched.broker.read(
                watched.client, queue, stamp, heartbeat_member() if watched.consumer else None, window
            )
        except Exception as exc:
            _log.debug("obsbox: cannot read queue %s from its broker: %s", queue, exc)
            stats = None
        out[queue] = stats
        if runtime is None:
            continue
        recorder = runtime.recorder
        with contextlib.suppress(Exception):
            recorder.broker_up(queue, stats is not None)
            if stats is not None:
                recorder.queue_stats(queue, stats.depth, stats.oldest_age_s)
                recorder.workers(queue, stats.workers)
                if stats.failed is not None:
                    recorder.failed_registry(queue, stats.failed)
    return out


def _run(interval: float) -> None:
    # obsbox's own reads are not the application's work: no spans from a Redis instrumentation.
    otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
    pid = os.getpid()
    while _state.pid == pid:
        _state.wake.clear()
        collect_once()
        _state.wake.wait(interval)
        if rt.get() is None:
            # shutdown(): a later configure() starts a fresh thread.
            with _state.lock:
                if _state.pid == pid:
                    _state.pid = 0
                    _state.watched = {}
            return


def leave(queues: list[str] | None = None) -> None:
    """A worker stops: remove its heartbeat now rather than letting it age out."""
    member = heartbeat_member()
    with _state.lock:
        items = [(q, w) for q, w in _state.watched.items() if w.consumer and (queues is None or q in queues)]
    for queue, watched in items:
        with contextlib.suppress(Exception):
            client = watched.client or watched.client_factory()
            client.zrem(WORKERS_KEY.format(queue=queue), member)
        watched.consumer = False


def redis_from_url(url: str) -> Callable[[], Any]:
    """A factory for a client with short timeouts: a hung broker must not hang the reader."""

    def make() -> Any:
        import redis

        return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)

    return make


def redis_like(connection: Any) -> Callable[[], Any]:
    """A factory for a client to the same server as ``connection`` (a redis.Redis), with short timeouts."""

    def make() -> Any:
        import redis

        kwargs = dict(connection.connection_pool.connection_kwargs)
        kwargs["socket_timeout"] = REDIS_TIMEOUT_S
        kwargs["socket_connect_timeout"] = REDIS_TIMEOUT_S
        pool = redis.ConnectionPool(connection_class=connection.connection_pool.connection_class, **kwargs)
        return redis.Redis(connection_pool=pool)

    return make
