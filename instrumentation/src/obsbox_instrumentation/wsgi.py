"""obsbox's own WSGI server instrumentation (and the Flask hook that adds the route template).

Why not upstream's opentelemetry-instrumentation-wsgi/flask: they collect dozens of attributes,
build two metric attribute sets and run several context/propagator round trips per request;
that is where most of their 180-330 us/request goes here. This middleware does one span, one
histogram observation and one context attach per request, and extracts propagation headers only
when the request carries them.

Per request: span ``{method} {route}`` (kind SERVER) with http.request.method, url.path,
url.scheme, url.query (scrubbed), http.route, http.response.status_code, tenant.id, api.version;
one observation of http.server.request.duration (seconds) labelled route, method, status,
api_version and the capped tenant; tenant.id in baggage for logs and outgoing calls.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime as rt
from .apiversion import api_version
from .contract import ATTR_API_VERSION, ATTR_TENANT, BAGGAGE_TENANT
from .patches import unwrap_library, wrap_library
from .tenant import clean_tenant, current_tenant, header_to_environ_key

ROUTE_KEY = "obsbox.route"
# Set by the outermost obsbox middleware: an app wrapped by hand and also hooked through its
# framework (Django's handler, a Flask app) records each request once.
OBSERVED_KEY = "obsbox.instrumented"
KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"))
# Two first requests racing to instrument an app created before configure() must not both do it.
_late_lock = threading.Lock()
_PROPAGATION_KEYS = ("HTTP_TRACEPARENT", "HTTP_BAGGAGE", "HTTP_B3", "HTTP_X_B3_TRACEID")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _EnvironGetter:
    """Reads propagation headers from a WSGI environ."""

    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        return [value] if value is not None else None

    def keys(self, carrier: dict[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


_GETTER = _EnvironGetter()


class _Finisher:
    """Wraps the response iterable so the span ends when the server closes it."""

    __slots__ = ("_iterable", "_done")

    def __init__(self, iterable: Iterable[bytes], done: Callable[[], None]) -> None:
        self._iterable = iterable
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        # Ending at exhaustion as well as at close(): some callers (test clients) never close.
        yield from self._iterable
        self._done()

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class ObsboxWSGIMiddleware:
    """Instrument a WSGI app. ``route_resolver(environ)`` may give the route template."""

    def __init__(self, app: WSGIApp, route_resolver: Callable[[dict[str, Any]], str | None] | None = None) -> None:
        self.app = app
        self.route_resolver = route_resolver
        self._obsbox_instrumented = True
        # (settings, tenant environ key, api-version environ key), computed once per settings.
        self._keys: tuple[Any, str, str] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        runtime = rt.get()
        if runtime is None or OBSERVED_KEY in environ:
            return self.app(environ, start_response)
        try:
            prepared = self._start(runtime, environ)
        except Exception:  # telemetry never breaks a request: serve it bare
            return self.app(environ, start_response)
        environ[OBSERVED_KEY] = True
        span, token, method, version, tenant, start_ns = prepared
        status_holder = [0]

        def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                status_holder[0] = int(status[:3])
            except ValueError:
                status_holder[0] = 0
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        finished = [False]

        def _done() -> None:
            if finished[0]:
                return
            finished[0] = True
            self._finish(runtime, environ, span, method, status_holder[0], version, tenant, start_ns)

        try:
            result = self.app(environ, _start_response)
        except BaseException as exc:
            status_holder[0] = 500
            span.record_exception(exc)
            _done()
            raise
        finally:
            context.detach(token)
        return _Finisher(result, _done)

    def _start(self, runtime: rt.Runtime, environ: dict[str, Any]) -> tuple[Any, Any, str, str, str | None, int]:
        start_ns = time.perf_counter_ns()
        settings = runtime.settings
        ctx = None
        for key in _PROPAGATION_KEYS:
            if key in environ:
                ctx = propagate.extract(environ, getter=_GETTER)  # type: ignore[arg-type]
                break
        keys = self._keys
        if keys is None or keys[0] is not settings:
            keys = self._keys = (
                settings, header_to_environ_key(settings.tenant_header),
                header_to_environ_key(settings.api_version_header),
            )
        tenant = resolve_tenant(environ, settings, ctx, keys[1])
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in KNOWN_METHODS:
            method = "_OTHER"
        path = environ.get("PATH_INFO", "") or "/"
        version = api_version(
            path, environ.get(keys[2]), environ,
            settings.api_version_extractor,
        )
        span, token = start_server_span(
            runtime, ctx, method, path, environ.get("wsgi.url_scheme", "http"), environ.get("QUERY_STRING"),
            tenant, version,
        )
        return span, token, method, version, tenant, start_ns

    def _finish(
        self, runtime: rt.Runtime, environ: dict[str, Any], span: Any, method: str, status: int,
        version: str, tenant: str | None, start_ns: int,
    ) -> None:
        try:
            route = environ.get(ROUTE_KEY)
            if route is None and self.route_resolver is not None:
                route = self.route_resolver(environ)
        except Exception:  # telemetry never breaks a response
            return
        finish_server_span(
            runtime, span, route, method, status, version, tenant, start_ns, environ.get("PATH_INFO")
        )


def resolve_tenant(environ: dict[str, Any], settings: Any, ctx: Any, header_key: str) -> str | None:
    """The request's tenant: the extractor's, else the header's, else the caller's baggage."""
    extractor = settings.tenant_extractor
    if extractor is not None:
        try:
            value = clean_tenant(extractor(environ))
        except Exception:  # a broken extractor must not fail the request
            value = None
        if value is not None:
            return value
    value = clean_tenant(environ.get(header_key))
    if value is not None:
        return value
    # A caller that already carries the tenant in baggage (service-to-service calls).
    return current_tenant(ctx) if ctx is not None else None


def start_server_span(
    runtime: rt.Runtime, ctx: Any, method: str, path: str, scheme: str, query: str | None,
    tenant: str | None, version: str,
) -> tuple[Any, Any]:
    """Start the SERVER span (tenant into baggage too) and attach its context: (span, token).

    Shared by the WSGI and ASGI middlewares.
    """
    if tenant is not None:
        ctx = baggage.set_baggage(BAGGAGE_TENANT, tenant, ctx)
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": path,
        "url.scheme": scheme,
    }
    if query:
        attributes["url.query"] = runtime.scrubber.query(query)
    if tenant is not None:
        attributes[ATTR_TENANT] = tenant
    if version:
        attributes[ATTR_API_VERSION] = version
    span = runtime.server_tracer.start_span(method, ctx, SpanKind.SERVER, attributes)
    token = context.attach(trace.set_span_in_context(span, ctx))
    return span, token


def finish_server_span(
    runtime: rt.Runtime, span: Any, route: str | None, method: str, status: int, version: str,
    tenant: str | None, start_ns: int, path: str | None = None,
) -> None:
    """End the SERVER span and record http.server.request.duration (shared by WSGI and ASGI).

    Requests to a route (or, without a route template, a path) in the ``sli_exclude_routes``
    setting are traced but not counted in the duration metric: health checks are not traffic.
    """
    try:
        if route:
            span.set_attribute("http.route", route)
            span.update_name(f"{method} {route}")
        span.set_attribute("http.response.status_code", status)
        if status >= 500 or status == 0:
            span.set_status(Status(StatusCode.ERROR))
        span_ctx = span.get_span_context()
        span.end()
        if (route or path or "") in runtime.settings.sli_exclude_routes:
            return
        seconds = (time.perf_counter_ns() - start_ns) / 1e9
        sampled = span_ctx.trace_flags.sampled
        # The span's context makes the trace-based exemplar filter attach this trace id.
        runtime.recorder.http_server(
            route or "", method, status, version, runtime.tenant_cap.label(tenant), seconds,
            format(span_ctx.trace_id, "032x") if sampled else None,
            trace.set_span_in_context(span) if sampled else None,
        )
    except Exception:  # telemetry never breaks a response
        pass


def instrument_wsgi(app: WSGIApp, route_resolver: Callable[[dict[str, Any]], str | None] | None = None) -> WSGIApp:
    """Wrap a WSGI app (idempotent: an already wrapped app is returned as is)."""
    if getattr(app, "_obsbox_instrumented", False):
        return app
    return ObsboxWSGIMiddleware(app, route_resolver)


def _record_route() -> None:
    from flask import request

    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE_KEY] = rule.rule


def _record_exception(sender: Any, exception: BaseException, **_: Any) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exception)


def instrument_flask(app: Any) -> Any:
    """Instrument a Flask app: WSGI middleware plus the route template and exceptions."""
    if app.__dict__.get("_obsbox_instrumented", False):
        return app
    from flask import got_request_exception

    # First in line, so the route is recorded even when a later before_request aborts.
    app.before_request_funcs.setdefault(None, []).insert(0, _record_route)
    got_request_exception.connect(_record_exception, app, weak=False)
    app.wsgi_app = instrument_wsgi(app.wsgi_app)
    app._obsbox_instrumented = True
    return app


def patch_flask() -> bool:
    """Instrument every Flask app, created before or after this call; False if Flask is absent.

    Apps created from now on are instrumented when created; an app that already existed (the
    module built it before configure() ran) is instrumented on its first request.
    """
    return wrap_library({"flask:Flask": _flask_wrappers})


def _flask_wrappers(flask_cls: Any) -> dict[str, Any]:
    original_init = flask_cls.__init__
    original_call = flask_cls.__call__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        with contextlib.suppress(Exception):
            instrument_flask(self)

    def __call__(self: Any, environ: Any, start_response: Any) -> Any:
        if not self.__dict__.get("_obsbox_instrumented"):
            with _late_lock, contextlib.suppress(Exception):
                instrument_flask(self)
        return original_call(self, environ, start_response)

    return {"__init__": __init__, "__call__": __call__}


def unpatch_flask() -> None:
    """Undo :func:`patch_flask` (tests; apps already created stay instrumented)."""
    unwrap_library("flask:Flask")
