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

from .patches import unwrap_library, wrap_library
from .wsgi import ROUTE_KEY, ObsboxWSGIMiddleware


def _route(match: Any) -> str | None:
    route = getattr(match, "route", None)
    if not isinstance(route, str):
        return None
    return route if route.startswith("/") else "/" + route


_WSGI_HANDLER = "django.core.handlers.wsgi:WSGIHandler"
_ASGI_HANDLER = "django.core.handlers.asgi:ASGIHandler"
_BASE_HANDLER = "django.core.handlers.base:BaseHandler"


def patch_django() -> bool:
    """Instrument every Django WSGI/ASGI application; False if Django is absent."""
    return wrap_library({_WSGI_HANDLER: _wsgi_wrappers, _ASGI_HANDLER: _asgi_wrappers, _BASE_HANDLER: _resolve_wrappers})


def _wsgi_wrappers(handler_cls: Any) -> dict[str, Any]:
    wsgi_call = handler_cls.__call__

    def wsgi(self: Any, environ: Any, start_response: Any) -> Any:
        middleware = self.__dict__.get("_obsbox_middleware")
        if middleware is None:
            middleware = self._obsbox_middleware = ObsboxWSGIMiddleware(functools.partial(wsgi_call, self))
        return middleware(environ, start_response)

    return {"__call__": wsgi}


def _asgi_wrappers(handler_cls: Any) -> dict[str, Any]:
    from .asgi import observe

    asgi_call = handler_cls.__call__

    async def asgi(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await observe(functools.partial(asgi_call, self), scope, receive, send)

    return {"__call__": asgi}


def _resolve_wrappers(handler_cls: Any) -> dict[str, Any]:
    resolve = handler_cls.resolve_request

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

    return {"resolve_request": resolve_request}


def unpatch_django() -> None:
    """Undo :func:`patch_django` (tests)."""
    unwrap_library(_WSGI_HANDLER, _ASGI_HANDLER, _BASE_HANDLER)
