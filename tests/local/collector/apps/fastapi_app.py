"""A FastAPI service instrumented as obsbox's README says: configure() first, then the app.

Served by uvicorn. Its service name is one of alert_rules/slos.yaml's services, so the shipped
SLO rules select it.
"""

from __future__ import annotations

import logging

import obsbox_instrumentation as obsbox
from fastapi import FastAPI
from fastapi.responses import JSONResponse

obsbox.configure(service_name="payments-demo")

app = FastAPI()
log = logging.getLogger("payments")


@app.get("/v1/payments/{payment_id}")
async def payment(payment_id: int) -> dict[str, object]:
    log.info("payment served", extra={"payment_id": payment_id})
    return {"id": payment_id, "status": "settled"}


@app.get("/v1/broken")
async def broken() -> JSONResponse:
    log.warning("card network unavailable")
    return JSONResponse({"error": "unavailable"}, status_code=503)


@app.get("/healthz")
async def healthz() -> str:
    return "ok"
