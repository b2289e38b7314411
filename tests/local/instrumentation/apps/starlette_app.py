"""A Starlette service (see README.md beside this file)."""

import logging
import os

import obsbox_instrumentation as obsbox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

LATE = os.environ.get("APP_CONFIGURE", "first") == "late"
if not LATE:
    obsbox.configure()


async def item(request: Request) -> JSONResponse:
    logging.getLogger("shop").info("item served")
    return JSONResponse({"tenant": obsbox.current_tenant(), "pid": os.getpid()})


app = Starlette(routes=[Route("/v1/items/{item_id:int}", item)])

if LATE:
    obsbox.configure()
