"""A Flask service (see README.md beside this file)."""

import logging
import os

import obsbox_instrumentation as obsbox
from flask import Flask, jsonify

LATE = os.environ.get("APP_CONFIGURE", "first") == "late"
if not LATE:
    obsbox.configure()

app = Flask(__name__)


@app.get("/v1/items/<int:item_id>")
def item(item_id: int):  # type: ignore[no-untyped-def]
    logging.getLogger("shop").info("item served")
    return jsonify(tenant=obsbox.current_tenant(), pid=os.getpid())


if LATE:
    obsbox.configure()
