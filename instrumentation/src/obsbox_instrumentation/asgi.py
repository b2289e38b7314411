"""obsbox's ASGI server instrumentation (Starlette, FastAPI, any ASGI app): the WSGI middleware's
twin. Same span, metric, tenant and API-version rules; see wsgi.py for why not upstream's.

Tenant and API-version callables receive a WSGI-style dict (``HTTP_X_TENANT_ID``, ``PATH_INFO``,
``REQUEST_METHOD``, ``QUERY_STRING``) plus ``"asgi.scope"``, so one extractor serves both kinds
of app. The route template comes from Starlette/FastAPI's ``scope["route"].path`` after routing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .apiversion import api_version
from .contract import ATTR_API_VERSION, ATTR_TENANT, BAGGAGE_TENANT
from .tenant import clean_tenant, current_tenant, header_to_environ_key
from .wsgi import _GETTER, KNOWN_METHODS

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _environ(scope: Scope) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = "HTTP_" + raw_name.decode("latin-1").upper().replace("-", "_")
        environ[name] = raw_value.decode("latin-1")
    return environ


def _route(scope: Scope) -> str | None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class ObsboxASGIMiddleware:
    """Instrument an ASGI app (HTTP only; websockets and lifespan pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._obsbox_instrumented = True

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        runtime = rt.get()
        if runtime is None or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        try:
            span, token, method, version, tenant, start_ns = self._start(runtime, scope)
        except Exception:  # telemetry never breaks a request
            await self.app(scope, receive, send)
            return
        status_holder = [0]

        async def _send(message: Any) -> None:
            if message.get("type") == "http.response.start":
                status_holder[0] = int(message.get("status", 0))
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except BaseException as exc:
            if status_holder[0] == 0:
                status_holder[0] = 500
            span.record_exception(exc)
            raise
        finally:
            context.detach(token)
            self._finish(runtime, scope, span, method, status_holder[0], version, tenant, start_ns)

    def _start(self, runtime: rt.Runtime, scope: Scope) -> tuple[Any, Any, str, str, str | None, int]:
        start_ns = time.perf_counter_ns()
        settings = runtime.settings
        environ = _environ(scope)
        ctx = None
        if "HTTP_TRACEPARENT" in environ or "HTTP_BAGGAGE" in environ:
            ctx = propagate.extract(environ, getter=_GETTER)  # type: ignore[arg-type]
        tenant = None
        if settings.tenant_extractor is not None:
            try:
                tenant = clean_tenant(settings.tenant_extractor(environ))
            except Exception:
                tenant = None
        if tenant is None:
            tenant = clean_tenant(environ.get(header_to_environ_key(settings.tenant_header)))
        if tenant is None and ctx is not None:
            tenant = current_tenant(ctx)
        if tenant is not None:
            ctx = baggage.set_baggage(BAGGAGE_TENANT, tenant, ctx)
        method = environ["REQUEST_METHOD"]
        if method not in KNOWN_METHODS:
            method = "_OTHER"
        path = environ["PATH_INFO"] or "/"
        version = api_version(
            path, environ.get(header_to_environ_key(settings.api_version_header)), environ,
            settings.api_version_extractor,
        )
        attributes: dict[str, Any] = {
            "http.request.method": method, "url.path": path, "url.scheme": environ["wsgi.url_scheme"],
        }
        if environ["QUERY_STRING"]:
            attributes["url.query"] = runtime.scrubber.query(environ["QUERY_STRING"])
        if tenant is not None:
            attributes[ATTR_TENANT] = tenant
        if version:
            attributes[ATTR_API_VERSION] = version
        span = runtime.server_tracer.start_span(method, ctx, SpanKind.SERVER, attributes)
        token = context.attach(trace.set_span_in_context(span, ctx))
        return span, token, method, version, tenant, start_ns

    @staticmethod
    def _finish(
        runtime: rt.Runtime, scope: Scope, span: Any, method: str, status: int, version: str,
        tenant: str | None, start_ns: int,
    ) -> None:
        try:
            route = _route(scope)
            if route:
                span.set_attribute("http.route", route)
                span.update_name(f"{method} {route}")
            span.set_attribute("http.response.status_code", status)
            if status >= 500 or status == 0:
                span.set_status(Status(StatusCode.ERROR))
            span_ctx = span.get_span_context()
            span.end()
            seconds = (time.perf_counter_ns() - start_ns) / 1e9
            sampled = span_ctx.trace_flags.sampled
            runtime.recorder.http_server(
                route or "", method, status, version, runtime.tenant_cap.label(tenant), seconds,
                format(span_ctx.trace_id, "032x") if sampled else None,
                trace.set_span_in_context(span) if sampled else None,
            )
        except Exception:
            pass


def instrument_asgi(app: Any) -> Any:
    """Wrap an ASGI app (idempotent)."""
    if getattr(app, "_obsbox_instrumented", False):
        return app
    return ObsboxASGIMiddleware(app)


def patch_starlette() -> bool:
    """Instrument every Starlette/FastAPI app's middleware stack; False if Starlette is absent."""
    try:
        from starlette.applications import Starlette
    except ImportError:
        return False
    if getattr(Starlette, "_obsbox_patched", False):
        return True
    original = Starlette.build_middleware_stack

    def build_middleware_stack(self: Any) -> Any:
        stack = original(self)
        try:
            return instrument_asgi(stack)
        except Exception:
            return stack

    build_middleware_stack._obsbox_original = original  # type: ignore[attr-defined]
    Starlette.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
    Starlette._obsbox_patched = True  # type: ignore[attr-defined]
    return True


def unpatch_starlette() -> None:
    try:
        from starlette.applications import Starlette
    except ImportError:
        return
    original = getattr(Starlette.build_middleware_stack, "_obsbox_original", None)
    if original is not None:
        Starlette.build_middleware_stack = original  # type: ignore[method-assign]
        Starlette._obsbox_patched = False  # type: ignore[attr-defined]
