"""A FastAPI service (see README.md beside this file): /v1 is a sync endpoint (run in a thread
pool), /v2 an async one."""

import logging
import os

import obsbox_instrumentation as obsbox
from fastapi import FastAPI

MODE = os.environ.get("APP_CONFIGURE", "first")
if MODE == "first":
    obsbox.configure()

app = FastAPI()
if MODE == "wrapped":
    # Before any route is declared: the decorators below must still work on the result.
    app = obsbox.instrument_asgi(app)


@app.get("/v1/items/{item_id}")
def item(item_id: int) -> dict:
    logging.getLogger("shop").info("item served")
    return {"tenant": obsbox.current_tenant(), "pid": os.getpid()}


@app.get("/v2/items/{item_id}")
async def item_v2(item_id: int) -> dict:
    logging.getLogger("shop").info("item served")
    return {"tenant": obsbox.current_tenant(), "pid": os.getpid()}


if MODE != "first":
    obsbox.configure()
