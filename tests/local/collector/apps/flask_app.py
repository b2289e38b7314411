"""A Flask service instrumented as obsbox's README says: configure() first, then the app.

Served by gunicorn with obsbox's pre-fork hooks (``gunicorn -c python:obsbox_instrumentation.gunicorn``).
Its service name is one of alert_rules/slos.yaml's services, so the shipped SLO rules select it.
"""

from __future__ import annotations

import logging
import time

import obsbox_instrumentation as obsbox
from flask import Flask, request

obsbox.configure(service_name="invoicing-demo")

app = Flask(__name__)
log = logging.getLogger("invoicing")


@app.get("/v1/invoices/<int:invoice_id>")
def invoice(invoice_id: int) -> dict[str, object]:
    # ?delay_ms= keeps a sync worker busy, so concurrent requests reach every worker.
    time.sleep(min(float(request.args.get("delay_ms", 0)), 1000) / 1000)
    log.info("invoice served", extra={"invoice_id": invoice_id})
    return {"id": invoice_id, "status": "paid"}


@app.get("/v1/broken")
def broken() -> tuple[dict[str, str], int]:
    log.warning("dependency unavailable")
    return {"error": "unavailable"}, 503


@app.get("/healthz")
def healthz() -> str:
    return "ok"
