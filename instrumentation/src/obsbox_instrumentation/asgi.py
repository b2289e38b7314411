"""obsbox's ASGI server instrumentation (Starlette, FastAPI, any ASGI app): the WSGI middleware's
twin. Same span, metric, tenant and API-version rules; see wsgi.py for why not upstream's.

Tenant and API-version callables receive a WSGI-style dict (``HTTP_X_TENANT_ID``, ``PATH_INFO``,
``REQUEST_METHOD``, ``QUERY_STRING``) plus ``"asgi.scope"``, so one extractor serves both kinds
of app. The route template comes from Starlette/FastAPI's ``scope["route"].path`` after routing
(or ``scope["obsbox.route"]``, which the Django hook sets).

Starlette and FastAPI apps are hooked at ``__call__`` of their classes, not at
``build_middleware_stack``: FastAPI overrides the latter without calling Starlette's, and its
``__call__`` starts FastAPI's own telemetry (a second server span and a second
``http.server.request.duration`` from a fresh context extracted from the headers, which drops
obsbox's tenant baggage) before the middleware stack runs. Hooking ``__call__`` puts obsbox
outside all of that, whether the app was created before or after configure(), and leaves the app
object itself untouched (routes can still be declared on it).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import context, propagate

from . import runtime as rt
from .apiversion import api_version
from .tenant import header_to_environ_key
from .wsgi import _GETTER, KNOWN_METHODS, ROUTE_KEY, finish_server_span, resolve_tenant, start_server_span

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
# Set on the scope by the outermost obsbox middleware: a mounted sub-app, or an app hooked both by
# hand and by the class hook, must not record the same request twice.
SCOPE_KEY = "obsbox.instrumented"
# FastAPI skips its own request telemetry when this key is in the scope (as it does for a
# request a parent FastAPI app already observes); obsbox records the request instead.
FASTAPI_TELEMETRY_KEY = "fastapi.telemetry"


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
    own = scope.get(ROUTE_KEY)
    if isinstance(own, str):
        return own
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class ObsboxASGIMiddleware:
    """Instrument an ASGI app (HTTP only; websockets and lifespan pass through)."""

    def __init__(self, app: ASGIApp, route_resolver: Callable[[Scope], str | None] | None = None) -> None:
        self.app = app
        self.route_resolver = route_resolver
        self._obsbox_instrumented = True

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await observe(self.app, scope, receive, send, self.route_resolver)


async def observe(
    app: ASGIApp, scope: Scope, receive: Any, send: Any,
    route_resolver: Callable[[Scope], str | None] | None = None,
) -> None:
    """Run one ASGI call of ``app`` under obsbox's server span and duration metric."""
    runtime = rt.get()
    if runtime is None or scope.get("type") != "http" or scope.get(SCOPE_KEY):
        await app(scope, receive, send)
        return
    try:
        span, token, method, version, tenant, start_ns = _start(runtime, scope)
    except Exception:  # telemetry never breaks a request
        await app(scope, receive, send)
        return
    scope[SCOPE_KEY] = True
    quiet_fastapi = FASTAPI_TELEMETRY_KEY not in scope
    if quiet_fastapi:
        scope[FASTAPI_TELEMETRY_KEY] = None
    status_holder = [0]

    async def _send(message: Any) -> None:
        if message.get("type") == "http.response.start":
            status_holder[0] = int(message.get("status", 0))
        await send(message)

    try:
        await app(scope, receive, _send)
    except BaseException as exc:
        if status_holder[0] == 0:
            status_holder[0] = 500
        span.record_exception(exc)
        raise
    finally:
        context.detach(token)
        if quiet_fastapi and scope.get(FASTAPI_TELEMETRY_KEY) is None:
            scope.pop(FASTAPI_TELEMETRY_KEY, None)
        _finish(runtime, scope, span, method, status_holder[0], version, tenant, start_ns, route_resolver)


def _start(runtime: rt.Runtime, scope: Scope) -> tuple[Any, Any, str, str, str | None, int]:
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


def _finish(
    runtime: rt.Runtime, scope: Scope, span: Any, method: str, status: int, version: str,
    tenant: str | None, start_ns: int, route_resolver: Callable[[Scope], str | None] | None = None,
) -> None:
    try:
        route = _route(scope)
        if route is None and route_resolver is not None:
            route = route_resolver(scope)
    except Exception:  # telemetry never breaks a response
        return
    finish_server_span(runtime, span, route, method, status, version, tenant, start_ns, scope.get("path"))


def instrument_asgi(app: Any, route_resolver: Callable[[Scope], str | None] | None = None) -> Any:
    """Instrument an ASGI app (idempotent).

    A Starlette or FastAPI app is hooked in place and returned as is, so ``@app.get`` and
    ``app.add_middleware`` keep working whenever this is called; any other ASGI callable is
    wrapped in :class:`ObsboxASGIMiddleware`, where ``route_resolver(scope)`` may give the route
    template.
    """
    if getattr(app, "_obsbox_instrumented", False):
        return app
    try:
        from starlette.applications import Starlette
    except ImportError:
        Starlette = None  # type: ignore[assignment,misc]  # noqa: N806
    if Starlette is not None and isinstance(app, Starlette):
        _patch_class_call(type(app))
        return app
    return ObsboxASGIMiddleware(app, route_resolver)


def _patch_class_call(cls: type) -> None:
    """Run every ``cls.__call__`` (and its bases' up to Starlette) under :func:`observe`."""
    for klass in cls.__mro__:
        if klass is object:
            break
        call = klass.__dict__.get("__call__")
        if call is None or getattr(call, "_obsbox_original", None) is not None:
            continue

        def make(original: Any) -> Any:
            @functools.wraps(original)
            async def __call__(self: Any, scope: Scope, receive: Any, send: Any) -> None:
                await observe(functools.partial(original, self), scope, receive, send)

            __call__._obsbox_original = original  # type: ignore[attr-defined]
            return __call__

        klass.__call__ = make(call)  # type: ignore[method-assign]


def _unpatch_class_call(cls: type) -> None:
    for klass in cls.__mro__:
        call = klass.__dict__.get("__call__")
        original = getattr(call, "_obsbox_original", None)
        if original is not None:
            klass.__call__ = original  # type: ignore[method-assign]


def patch_starlette() -> bool:
    """Instrument every Starlette and FastAPI app, created before or after this call; False if
    Starlette is absent."""
    try:
        from starlette.applications import Starlette
    except ImportError:
        return False
    _patch_class_call(Starlette)
    try:
        from fastapi import FastAPI
    except ImportError:
        pass
    else:
        _patch_class_call(FastAPI)
    return True


def unpatch_starlette() -> None:
    """Undo :func:`patch_starlette` and any class hooked by :func:`instrument_asgi` (tests)."""
    try:
        from starlette.applications import Starlette
    except ImportError:
        return
    classes: list[type] = [Starlette]
    pending = list(Starlette.__subclasses__())
    while pending:
        sub = pending.pop()
        classes.append(sub)
        pending.extend(sub.__subclasses__())
    for cls in classes:
        _unpatch_class_call(cls)
