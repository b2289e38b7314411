"""Outgoing HTTP with ``requests`` and ``httpx``: a client span, W3C traceparent + baggage (tenant.id) on the
wire, and one observation of http.client.request.duration (status 0 when no response came).

obsbox's own hooks rather than opentelemetry-instrumentation-requests/-httpx because the
contract metric must reach the Prometheus pull endpoint too, and upstream records only into the
OpenTelemetry SDK. Other clients (urllib3, aiohttp) use upstream instrumentations, whose metrics
are pushed over OTLP only; their headers carry baggage through the global propagator as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, propagate, trace
from opentelemetry.context import _SUPPRESS_HTTP_INSTRUMENTATION_KEY, _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .patches import Wrappers, unwrap_library, wrap_library
from .wsgi import KNOWN_METHODS


def _begin(method: str, url: str, headers: Any) -> tuple[Any, Any, Any, str, str, float] | None:
    """Start a client span and inject trace context + baggage; None when not instrumenting."""
    runtime = rt.get()
    if runtime is None or context.get_value(_SUPPRESS_INSTRUMENTATION_KEY) or context.get_value(
        _SUPPRESS_HTTP_INSTRUMENTATION_KEY
    ):
        return None
    method = (method or "GET").upper()
    if method not in KNOWN_METHODS:
        method = "_OTHER"
    parts = urlsplit(url)
    host = parts.hostname or ""
    span = runtime.tracer.start_span(
        method, kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": method, "server.address": host,
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
            "url.full": runtime.scrubber.url(url),
        },
    )
    token = context.attach(trace.set_span_in_context(span))
    propagate.inject(headers)
    return runtime, span, token, host, method, time.perf_counter()


def _end(state: tuple[Any, Any, Any, str, str, float], status: int, exc: BaseException | None) -> None:
    runtime, span, token, host, method, start = state
    try:
        context.detach(token)
        if exc is not None:
            span.record_exception(exc)
        span.set_attribute("http.response.status_code", status)
        if status == 0 or status >= 400:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        runtime.recorder.http_client(host, method, status, time.perf_counter() - start)
    except Exception:
        pass


def _requests_url(request: Any) -> Any:
    return request.url


def _httpx_url(request: Any) -> str:
    return str(request.url)


def _safe_begin(request: Any, url_of: Callable[[Any], Any]) -> tuple[Any, Any, Any, str, str, float] | None:
    """:func:`_begin` for a request object, None when it fails: telemetry never breaks the call."""
    try:
        return _begin(request.method, url_of(request), request.headers)
    except Exception:
        return None


class _ClientCall:
    """The client span around one send: ``with _ClientCall(request, url_of) as call:`` then set
    ``call.status`` from the response. A no-op when not instrumenting; never raises its own errors."""

    __slots__ = ("state", "status")

    def __init__(self, request: Any, url_of: Callable[[Any], Any]) -> None:
        self.state = _safe_begin(request, url_of)
        self.status = 0

    def __enter__(self) -> _ClientCall:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self.state is not None:
            _end(self.state, self.status, exc)


def _sync_send(url_of: Callable[[Any], Any]) -> Wrappers:
    """``send`` of requests' Session and httpx's Client, inside a client span."""

    def make(cls: Any) -> dict[str, Any]:
        original = cls.send

        def send(self: Any, request: Any, **kwargs: Any) -> Any:
            with _ClientCall(request, url_of) as call:
                response = original(self, request, **kwargs)
                call.status = response.status_code
                return response

        return {"send": send}

    return make


def _async_send(cls: Any) -> dict[str, Any]:
    """``send`` of httpx's AsyncClient, inside a client span."""
    original = cls.send

    async def send(self: Any, request: Any, **kwargs: Any) -> Any:
        with _ClientCall(request, _httpx_url) as call:
            response = await original(self, request, **kwargs)
            call.status = response.status_code
            return response

    return {"send": send}


def patch_httpx() -> bool:
    """Instrument httpx.Client and httpx.AsyncClient; False when httpx is not installed."""
    return wrap_library({"httpx:Client": _sync_send(_httpx_url), "httpx:AsyncClient": _async_send})


def unpatch_httpx() -> None:
    unwrap_library("httpx:Client", "httpx:AsyncClient")


def patch_requests() -> bool:
    """Instrument every ``requests`` Session; False when requests is not installed."""
    return wrap_library({"requests:Session": _sync_send(_requests_url)})


def unpatch_requests() -> None:
    unwrap_library("requests:Session")
