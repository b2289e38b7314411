"""Outgoing HTTP with ``requests``: a client span, W3C traceparent + baggage (tenant.id) on the
wire, and one observation of http.client.request.duration (status 0 when no response came).

obsbox's own hook rather than opentelemetry-instrumentation-requests because the contract
metric must reach the Prometheus pull endpoint too, and upstream records only into the
OpenTelemetry SDK. Other clients (httpx, urllib3) use upstream instrumentations, whose metrics
are pushed over OTLP only; their headers carry baggage through the global propagator as well.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, propagate, trace
from opentelemetry.context import _SUPPRESS_HTTP_INSTRUMENTATION_KEY, _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .wsgi import KNOWN_METHODS


def _send(original: Any, session: Any, request: Any, **kwargs: Any) -> Any:
    runtime = rt.get()
    if runtime is None or context.get_value(_SUPPRESS_INSTRUMENTATION_KEY) or context.get_value(
        _SUPPRESS_HTTP_INSTRUMENTATION_KEY
    ):
        return original(session, request, **kwargs)
    try:
        method = (request.method or "GET").upper()
        if method not in KNOWN_METHODS:
            method = "_OTHER"
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        span = runtime.tracer.start_span(
            method, kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": method, "server.address": host,
                "server.port": parts.port or (443 if parts.scheme == "https" else 80),
                "url.full": runtime.scrubber.url(request.url),
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        propagate.inject(request.headers)
        start = time.perf_counter()
    except Exception:  # telemetry never breaks the call
        return original(session, request, **kwargs)
    status = 0
    try:
        response = original(session, request, **kwargs)
        status = response.status_code
        return response
    except BaseException as exc:
        span.record_exception(exc)
        raise
    finally:
        try:
            context.detach(token)
            span.set_attribute("http.response.status_code", status)
            if status == 0 or status >= 400:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            runtime.recorder.http_client(host, method, status, time.perf_counter() - start)
        except Exception:
            pass


def patch_requests() -> bool:
    """Instrument every ``requests`` Session; False when requests is not installed."""
    try:
        import requests
    except ImportError:
        return False
    session_cls = requests.Session
    if getattr(session_cls.send, "_obsbox", False):
        return True
    original = session_cls.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        return _send(original, self, request, **kwargs)

    send._obsbox = True  # type: ignore[attr-defined]
    send._obsbox_original = original  # type: ignore[attr-defined]
    session_cls.send = send  # type: ignore[method-assign]
    return True


def unpatch_requests() -> None:
    try:
        import requests
    except ImportError:
        return
    original = getattr(requests.Session.send, "_obsbox_original", None)
    if original is not None:
        requests.Session.send = original  # type: ignore[method-assign]
