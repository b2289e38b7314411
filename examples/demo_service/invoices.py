"""Invoice rendering: a real RQ job the demo service enqueues and ``rq worker`` runs.

    obsbox-instrument rq worker --url redis://127.0.0.1:6379/0 invoices

Nothing here calls obsbox: with obsbox-instrumentation installed, ``configure()`` (in the
service) and ``obsbox-instrument`` (around the worker) wrap RQ's enqueue and perform paths, so
each job gets a PRODUCER span in the request's trace, a CONSUMER span in the work horse, the
tenant in its logs, and ``obsbox_job_duration_seconds`` by outcome (docs/jobs.md).
"""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any

from redis import Redis
from rq import Queue

log = logging.getLogger("examples.demo_service.invoices")

QUEUE = "invoices"
BASE_WORK_S = 0.02
# Keep Redis small on a demo left running: results go after a minute, failures after an hour.
RESULT_TTL_S = 60
FAILURE_TTL_S = 3600


class InvoiceRenderError(ValueError):
    """The invoice cannot be rendered (the injected poison job)."""


def render_invoice(tenant: str, invoice_id: str, poison: bool = False, extra_s: float = 0.0) -> dict[str, Any]:
    """Render one invoice to a (fake) PDF. `poison` and `extra_s` come from the service's fault
    switches at enqueue time: a job whose input cannot be rendered, and a slow renderer."""
    time.sleep(BASE_WORK_S + max(0.0, extra_s))
    if poison:
        raise InvoiceRenderError(f"invoice {invoice_id} of {tenant} has a line item the template cannot render")
    size = 20_000 + zlib.crc32(f"{tenant}/{invoice_id}".encode()) % 80_000
    log.info("rendered invoice %s: %d bytes", invoice_id, size)
    return {"invoice": invoice_id, "bytes": size}


class InvoiceQueue:
    """The RQ queue the service enqueues renders on."""

    def __init__(self, redis_url: str, name: str = QUEUE) -> None:
        # short timeouts: a dead Redis must fail a request quickly
        self._queue = Queue(name, connection=Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2))

    @property
    def name(self) -> str:
        return str(self._queue.name)

    def enqueue(self, tenant: str, invoice_id: str, poison: bool = False, extra_s: float = 0.0) -> str:
        job = self._queue.enqueue(
            render_invoice, tenant, invoice_id, poison=poison, extra_s=extra_s,
            result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        )  # fmt: skip
        return str(job.id)
