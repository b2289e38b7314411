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

from opentelemetry import context, propagate

from . import runtime as rt
from .apiversion import api_version
from .tenant import header_to_environ_key
from .wsgi import _GETTER, KNOWN_METHODS, finish_server_span, resolve_tenant, start_server_span

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
        tenant = resolve_tenant(environ, settings, ctx, header_to_environ_key(settings.tenant_header))
        method = environ["REQUEST_METHOD"]
        if method not in KNOWN_METHODS:
            method = "_OTHER"
        path = environ["PATH_INFO"] or "/"
        version = api_version(
            path, environ.get(header_to_environ_key(settings.api_version_header)), environ,
            settings.api_version_extractor,
        )
        span, token = start_server_span(
            runtime, ctx, method, path, environ["wsgi.url_scheme"], environ["QUERY_STRING"], tenant, version,
        )
        return span, token, method, version, tenant, start_ns

    @staticmethod
    def _finish(
        runtime: rt.Runtime, scope: Scope, span: Any, method: str, status: int, version: str,
        tenant: str | None, start_ns: int,
    ) -> None:
        try:
            route = _route(scope)
        except Exception:  # telemetry never breaks a response
            return
        finish_server_span(runtime, span, route, method, status, version, tenant, start_ns)


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
