"""obsbox's Django server instrumentation: the WSGI and ASGI middlewares around Django's own
handlers, plus the route template from Django's URL resolver.

Django's handler classes are hooked (``WSGIHandler.__call__``, ``ASGIHandler.__call__``), so
``get_wsgi_application()``/``get_asgi_application()`` objects created before or after configure()
are covered, and the request gets the same span, metric (on ``/metrics`` too), tenant and API
version as a Flask or FastAPI request. The route is the matched pattern (``/v1/orders/<int:pk>``),
recorded when Django resolves the URL (``BaseHandler.resolve_request``).
"""

from __future__ import annotations

import functools
from typing import Any

from .patches import is_wrapped, unwrap_methods, wrap_methods
from .wsgi import ROUTE_KEY, ObsboxWSGIMiddleware


def _route(match: Any) -> str | None:
    route = getattr(match, "route", None)
    if not isinstance(route, str):
        return None
    return route if route.startswith("/") else "/" + route


def patch_django() -> bool:
    """Instrument every Django WSGI/ASGI application; False if Django is absent."""
    try:
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.base import BaseHandler
        from django.core.handlers.wsgi import WSGIHandler
    except ImportError:
        return False
    if is_wrapped(WSGIHandler, "__call__"):
        return True
    from .asgi import observe

    wsgi_call = WSGIHandler.__call__
    asgi_call = ASGIHandler.__call__
    resolve = BaseHandler.resolve_request

    def wsgi(self: Any, environ: Any, start_response: Any) -> Any:
        middleware = self.__dict__.get("_obsbox_middleware")
        if middleware is None:
            middleware = self._obsbox_middleware = ObsboxWSGIMiddleware(functools.partial(wsgi_call, self))
        return middleware(environ, start_response)

    async def asgi(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await observe(functools.partial(asgi_call, self), scope, receive, send)

    def resolve_request(self: Any, request: Any) -> Any:
        match = resolve(self, request)
        try:
            route = _route(match)
            if route is not None:
                # The WSGI request keeps the server's environ dict, the ASGI request its scope:
                # the middleware reads the route from there when the response is done.
                carrier = getattr(request, "scope", None)
                if not isinstance(carrier, dict):
                    carrier = request.environ
                carrier[ROUTE_KEY] = route
        except Exception:  # telemetry never breaks a request
            pass
        return match

    wrap_methods(WSGIHandler, {"__call__": wsgi})
    wrap_methods(ASGIHandler, {"__call__": asgi})
    wrap_methods(BaseHandler, {"resolve_request": resolve_request})
    return True


def unpatch_django() -> None:
    """Undo :func:`patch_django` (tests)."""
    try:
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.base import BaseHandler
        from django.core.handlers.wsgi import WSGIHandler
    except ImportError:
        return
    unwrap_methods(WSGIHandler, "__call__")
    unwrap_methods(ASGIHandler, "__call__")
    unwrap_methods(BaseHandler, "resolve_request")
