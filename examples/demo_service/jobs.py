"""The report job queue: a Redis list (LPUSH to enqueue, BRPOP to take the oldest).

Each job carries its enqueue time (for the oldest-age gauge) and the W3C trace context of the
request that enqueued it, so the worker's job span continues the request's trace.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis
from obsbox_instrumentation import jobs as obsbox_jobs


@dataclass(frozen=True)
class Job:
    id: str
    tenant: str
    kind: str
    enqueued_at: float
    carrier: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "tenant": self.tenant,
                "kind": self.kind,
                "enqueued_at": self.enqueued_at,
                "carrier": self.carrier,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Job:
        d: dict[str, Any] = json.loads(raw)
        return cls(
            str(d["id"]),
            str(d["tenant"]),
            str(d["kind"]),
            float(d["enqueued_at"]),
            dict(d.get("carrier") or {}),
        )


class ReportQueue:
    def __init__(self, redis_url: str, name: str = "reports") -> None:
        self.name = name
        self._key = f"obsbox-demo:queue:{name}"
        # short timeouts: a dead Redis must fail a request quickly, not hang a worker
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)

    def enqueue(self, tenant: str, kind: str) -> Job:
        carrier: dict[str, str] = {}
        obsbox_jobs.inject_context(carrier)
        job = Job(uuid.uuid4().hex, tenant, kind, time.time(), carrier)
        self._redis.lpush(self._key, job.to_json())
        return job

    def take(self, timeout_s: float = 1.0) -> Job | None:
        item = self._redis.brpop([self._key], timeout=max(1, int(timeout_s)))
        if item is None:
            return None
        return Job.from_json(item[1])

    def depth(self) -> int:
        return int(self._redis.llen(self._key))

    def oldest_age(self) -> float:
        """Seconds the oldest waiting job has waited; 0 when the queue is empty."""
        raw = self._redis.lindex(self._key, -1)
        if raw is None:
            return 0.0
        return max(0.0, time.time() - Job.from_json(raw).enqueued_at)

    def clear(self) -> None:
        self._redis.delete(self._key)
