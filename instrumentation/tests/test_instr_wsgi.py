"""The server middleware on a real Flask app (in-process test client, in-memory exporters)."""

from __future__ import annotations

import logging
from typing import Any

import flask
import pytest
import requests
from obsbox_instrumentation.contract import TENANT_OTHER


def make_app() -> flask.Flask:
    app = flask.Flask("unit")

    @app.get("/v1/orders/<int:order_id>")
    def order(order_id: int) -> str:
        logging.getLogger("orders").info("order %s viewed", order_id, extra={"order_id": order_id})
        return "ok"

    @app.get("/orders")
    def orders() -> str:
        return "ok"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaput")

    return app


def get(app: flask.Flask, url: str, **headers: str) -> Any:
    with app.test_client() as client:
        resp = client.get(url, headers=headers)
        resp.get_data()
        resp.close()
        return resp


def server_span(configured: Any) -> Any:
    spans = [s for s in configured.finished_spans() if s.kind.name == "SERVER"]
    assert len(spans) == 1
    return spans[0]


def test_flask_app_created_after_configure_is_instrumented(configure_obsbox: Any) -> None:
    """configure() auto-instruments Flask apps: a request yields a server span with the route."""
    configured = configure_obsbox()
    get(make_app(), "/v1/orders/7", **{"X-Tenant-ID": "acme"})
    span = server_span(configured)
    assert span.name == "GET /v1/orders/<int:order_id>"
    assert span.attributes["http.route"] == "/v1/orders/<int:order_id>"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["tenant.id"] == "acme"
    assert span.attributes["api.version"] == "v1"


def test_request_metric_has_contract_labels(configure_obsbox: Any) -> None:
    """One request is one observation labelled route, method, status, api_version, tenant."""
    configured = configure_obsbox()
    get(make_app(), "/v1/orders/7", **{"X-Tenant-ID": "acme"})
    expected = (
        'http_server_request_duration_seconds_count{api_version="v1",http_request_method="GET",'
        'http_response_status_code="200",http_route="/v1/orders/<int:order_id>",tenant_id="acme"} 1.0'
    )
    assert expected in configured.exposition()
    (point,) = configured.metric_points("http.server.request.duration")
    assert point.count == 1
    assert dict(point.attributes)["tenant.id"] == "acme"


def test_histogram_observation_carries_trace_exemplar(configure_obsbox: Any) -> None:
    """The OTLP histogram point's exemplar names the request's trace id."""
    configured = configure_obsbox()
    get(make_app(), "/orders")
    span = server_span(configured)
    (point,) = configured.metric_points("http.server.request.duration")
    assert [e.trace_id for e in point.exemplars] == [span.context.trace_id]


def test_api_version_from_header_on_unprefixed_route(configure_obsbox: Any) -> None:
    """X-API-Version: 2 on /orders gives api.version v2 on span and metric."""
    configured = configure_obsbox()
    get(make_app(), "/orders", **{"X-API-Version": "2"})
    assert server_span(configured).attributes["api.version"] == "v2"
    assert 'api_version="v2"' in configured.exposition()


def test_tenant_from_callable_extractor(configure_obsbox: Any) -> None:
    """A tenant_extractor callable given the WSGI environ decides the tenant."""
    configured = configure_obsbox(tenant_extractor=lambda environ: environ.get("HTTP_HOST", "").split(".")[0])
    with make_app().test_client() as client:
        client.get("/orders", base_url="http://globex.example.com").close()
    assert server_span(configured).attributes["tenant.id"] == "globex"


def test_broken_tenant_extractor_does_not_fail_requests(configure_obsbox: Any) -> None:
    """An extractor that raises is ignored; the header still names the tenant."""

    def broken(environ: Any) -> str:
        raise KeyError("no")

    configured = configure_obsbox(tenant_extractor=broken)
    resp = get(make_app(), "/orders", **{"X-Tenant-ID": "acme"})
    assert resp.status_code == 200
    assert server_span(configured).attributes["tenant.id"] == "acme"


def test_tenant_cap_applies_to_request_metric(configure_obsbox: Any) -> None:
    """With tenant_top_n=2, a third tenant is labelled __other__ on the metric but not the span."""
    configured = configure_obsbox(tenant_top_n=2)
    app = make_app()
    for tenant in ("a", "b", "c"):
        get(app, "/orders", **{"X-Tenant-ID": tenant})
    text = configured.exposition()
    assert f'tenant_id="{TENANT_OTHER}"' in text and 'tenant_id="c"' not in text
    assert {s.attributes["tenant.id"] for s in configured.finished_spans()} == {"a", "b", "c"}


def test_incoming_traceparent_continues_the_trace(configure_obsbox: Any) -> None:
    """A W3C traceparent header makes the server span a child of the caller's span."""
    configured = configure_obsbox()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    get(make_app(), "/orders", traceparent=f"00-{trace_id}-00f067aa0ba902b7-01", baggage="tenant.id=initech")
    span = server_span(configured)
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.attributes["tenant.id"] == "initech"


def test_exception_in_view_is_recorded_and_answered_500(configure_obsbox: Any) -> None:
    """A view that raises gives status 500, an error span with the exception event, a 500 metric."""
    configured = configure_obsbox()
    resp = get(make_app(), "/boom")
    assert resp.status_code == 500
    span = server_span(configured)
    assert span.status.status_code.name == "ERROR"
    assert any(e.name == "exception" for e in span.events)
    assert 'http_response_status_code="500"' in configured.exposition()


def test_secrets_never_leave_in_spans_logs_or_metrics(configure_obsbox: Any) -> None:
    """Authorization header and ?password= appear in no span, log line, OTLP log or metric."""
    configured = configure_obsbox()
    app = make_app()

    @app.get("/login")
    def login() -> str:
        logging.getLogger("auth").warning(
            "login password=%s", flask.request.args["password"], extra={"token": "tok-XYZ"}
        )
        return "ok"

    get(app, "/login?user=bob&password=hunter2", Authorization="Bearer sekrit-abc")
    blobs = [repr(s.to_json()) for s in configured.finished_spans()]
    blobs += [r.to_json() for r in configured.log_records()]
    blobs += [configured.stdout.getvalue(), configured.exposition()]
    for blob in blobs:
        assert "hunter2" not in blob and "sekrit-abc" not in blob and "tok-XYZ" not in blob
    assert "password=[REDACTED]" in server_span(configured).attributes["url.query"]


def test_outgoing_requests_carry_trace_and_tenant_baggage(configure_obsbox: Any) -> None:
    """A requests call inside a tenant's request sends traceparent and baggage tenant.id."""
    configured = configure_obsbox()
    sent: list[Any] = []

    class Recording(requests.adapters.BaseAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:
            sent.append(request)
            resp = requests.Response()
            resp.status_code = 204
            resp.request = request
            return resp

        def close(self) -> None:
            pass

    app = make_app()

    @app.get("/fanout")
    def fanout() -> str:
        session = requests.Session()
        session.mount("http://", Recording())
        session.get("http://billing.internal/charge?token=abc")
        return "ok"

    get(app, "/fanout", **{"X-Tenant-ID": "acme"})
    (request,) = sent
    assert "tenant.id=acme" in request.headers["baggage"]
    client = [s for s in configured.finished_spans() if s.kind.name == "CLIENT"]
    assert request.headers["traceparent"].split("-")[2] == format(client[0].context.span_id, "016x")
    assert "abc" not in client[0].attributes["url.full"]
    assert 'http_client_request_duration_seconds_count{http_request_method="GET",http_response_status_code="204",server_address="billing.internal"} 1.0' in configured.exposition()


@pytest.mark.parametrize("kind", ["export", "processor"])
def test_failing_telemetry_never_reaches_the_app(configure_obsbox: Any, kind: str) -> None:
    """An exporter or the span queue raising leaves requests answered normally."""
    configured = configure_obsbox()

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("collector on fire")

    if kind == "export":
        configured.spans.export = explode  # type: ignore[method-assign]
    else:
        configured.runtime.server_tracer._sink = explode  # the queue the ended server span goes to
    resp = get(make_app(), "/orders")
    assert resp.status_code == 200 and resp.get_data() == b"ok"
    configured.runtime.tracer_provider.force_flush()


def test_flask_app_created_before_configure_is_instrumented_on_first_request(configure_obsbox: Any) -> None:
    """An app built before configure() (the module did it first) still records its requests."""
    app = make_app()
    configured = configure_obsbox()
    get(app, "/v1/orders/7", **{"X-Tenant-ID": "acme"})
    span = server_span(configured)
    assert span.name == "GET /v1/orders/<int:order_id>"
    assert span.attributes["tenant.id"] == "acme"


def test_flask_app_also_wrapped_by_hand_records_each_request_once(configure_obsbox: Any) -> None:
    """instrument_wsgi around an app obsbox already hooks gives one server span per request, not two."""
    from obsbox_instrumentation import instrument_wsgi

    configured = configure_obsbox()
    app = make_app()
    wrapped = instrument_wsgi(app.wsgi_app)
    app.wsgi_app = instrument_wsgi(lambda environ, start_response: wrapped(environ, start_response))
    span = server_span(get(app, "/v1/orders/7") and configured)
    assert span.name == "GET /v1/orders/<int:order_id>"


def test_excluded_route_is_traced_but_not_counted(configure_obsbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route in OBSBOX_SLI_EXCLUDE_ROUTES gets its span but no request-duration observation."""
    monkeypatch.setenv("OBSBOX_SLI_EXCLUDE_ROUTES", "/orders")
    configured = configure_obsbox()
    app = make_app()
    get(app, "/orders")
    assert server_span(configured).attributes["http.route"] == "/orders"
    get(app, "/v1/orders/7", **{"X-Tenant-ID": "acme"})
    page = configured.exposition()
    assert 'http_route="/v1/orders/<int:order_id>"' in page
    assert 'http_route="/orders"' not in page
    points = configured.metric_points("http.server.request.duration")
    assert [dict(p.attributes)["http.route"] for p in points] == ["/v1/orders/<int:order_id>"]
