"""The ASGI middleware on a real Starlette app, driven through the ASGI interface in-process."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

starlette = pytest.importorskip("starlette", reason="Starlette (a dev dependency; the [fastapi] extra brings it) is not installed in this venv")

from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402


def make_app() -> Starlette:
    async def order(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def boom(request: Any) -> PlainTextResponse:
        raise RuntimeError("kaput")

    return Starlette(routes=[Route("/v2/orders/{order_id}", order), Route("/boom", boom)])


def call(app: Any, path: str, query: bytes = b"", headers: dict[str, str] | None = None) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        # Starlette re-raises the view's exception after answering 500.
        with contextlib.suppress(RuntimeError):
            await app(scope, receive, send)

    asyncio.run(run())
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


def test_starlette_app_gets_server_span_with_route(configure_obsbox: Any) -> None:
    """A Starlette app created after configure() yields a server span with route, tenant, version."""
    configured = configure_obsbox()
    status = call(make_app(), "/v2/orders/9", b"token=abc", {"X-Tenant-ID": "acme"})
    assert status == 200
    (span,) = [s for s in configured.finished_spans() if s.kind.name == "SERVER"]
    assert span.name == "GET /v2/orders/{order_id}"
    assert span.attributes["tenant.id"] == "acme" and span.attributes["api.version"] == "v2"
    assert "abc" not in span.attributes["url.query"]


def test_asgi_request_metric_and_error_status(configure_obsbox: Any) -> None:
    """Requests are observed on the contract histogram; an exception is a 500 error span."""
    configured = configure_obsbox()
    app = make_app()
    call(app, "/v2/orders/1")
    assert call(app, "/boom") == 500
    text = configured.exposition()
    assert 'http_route="/v2/orders/{order_id}"' in text
    assert 'http_response_status_code="500",http_route="/boom"' in text
    errors = [s for s in configured.finished_spans() if s.status.status_code.name == "ERROR"]
    assert len(errors) == 1


def test_starlette_app_created_before_configure_is_instrumented(configure_obsbox: Any) -> None:
    """An app built before configure() records its requests once configure() has run."""
    app = make_app()
    configured = configure_obsbox()
    assert call(app, "/v2/orders/9", headers={"X-Tenant-ID": "acme"}) == 200
    (span,) = [s for s in configured.finished_spans() if s.kind.name == "SERVER"]
    assert span.name == "GET /v2/orders/{order_id}"


def test_instrument_asgi_on_fastapi_before_routes_keeps_the_app(configure_obsbox: Any) -> None:
    """instrument_asgi(FastAPI()) returns the app itself: routes declared afterwards work and are recorded once."""
    import fastapi
    import obsbox_instrumentation as obsbox

    app = obsbox.instrument_asgi(fastapi.FastAPI())
    assert isinstance(app, fastapi.FastAPI)

    @app.get("/v1/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"tenant": obsbox.current_tenant()}

    configured = configure_obsbox()
    assert call(app, "/v1/items/3", headers={"X-Tenant-ID": "acme"}) == 200
    spans = [s for s in configured.finished_spans() if s.kind.name == "SERVER"]
    assert [s.name for s in spans] == ["GET /v1/items/{item_id}"]
    assert spans[0].attributes["tenant.id"] == "acme"
