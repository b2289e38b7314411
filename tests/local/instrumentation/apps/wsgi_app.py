"""A plain WSGI service, wrapped by hand (see README.md beside this file)."""

import json
import logging
import os

import obsbox_instrumentation as obsbox

obsbox.configure()
ROUTE = "/v1/items/{item_id}"


def _app(environ, start_response):  # type: ignore[no-untyped-def]
    if not environ.get("PATH_INFO", "").startswith("/v1/items/"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    logging.getLogger("shop").info("item served")
    body = json.dumps({"tenant": obsbox.current_tenant(), "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


app = obsbox.instrument_wsgi(
    _app, route_resolver=lambda environ: ROUTE if environ.get("PATH_INFO", "").startswith("/v1/items/") else None
)
