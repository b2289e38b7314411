"""A plain ASGI service, wrapped by hand (see README.md beside this file)."""

import json
import logging
import os

import obsbox_instrumentation as obsbox

obsbox.configure()
ROUTE = "/v1/items/{item_id}"


async def _app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    found = scope["path"].startswith("/v1/items/")
    if found:
        logging.getLogger("shop").info("item served")
    body = json.dumps({"tenant": obsbox.current_tenant(), "pid": os.getpid()}).encode() if found else b"{}"
    await send({
        "type": "http.response.start",
        "status": 200 if found else 404,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


app = obsbox.instrument_asgi(_app, route_resolver=lambda scope: ROUTE if scope["path"].startswith("/v1/items/") else None)
