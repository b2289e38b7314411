"""Every framework docs/instrumentation.md names, served by a real server process on the current release:
Flask, Django and plain WSGI under gunicorn (with obsbox's gunicorn hooks), Starlette, FastAPI,
Django's ASGI handler and plain ASGI under uvicorn. Each request must give one server span, one observation on /metrics and
on OTLP, and the tenant in the span, in the handler's baggage and in its log line, whether
configure() ran before the app existed or after.
"""

from __future__ import annotations

import http.client
import importlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from examples.otlp_receiver import OtlpReceiver, SpanRecord
from examples.procs import VENV_BIN, ManagedProcess, demo_env, free_port

APPS = Path(__file__).resolve().parent / "apps"
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER
TENANT = "acme"
REPEAT = 3
# Short export intervals so spans arrive within seconds (as conftest.FAST_EXPORT).
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BLRP_SCHEDULE_DELAY": "200", "OTEL_METRIC_EXPORT_INTERVAL": "1000"}


@dataclass(frozen=True)
class Case:
    module: str
    framework: str  # the import that must exist
    server: str  # gunicorn or uvicorn
    routes: dict[str, str]  # request path -> the route template obsbox must report
    configure: str = "first"
    attribute: str = "app"


CASES = {
    "flask": Case("flask_app", "flask", "gunicorn", {"/v1/items/7": "/v1/items/<int:item_id>"}),
    "flask-configured-late": Case(
        "flask_app", "flask", "gunicorn", {"/v1/items/7": "/v1/items/<int:item_id>"}, "late"
    ),
    "django": Case("django_app", "django", "gunicorn", {"/v1/items/7": "/v1/items/<int:item_id>"}),
    "django-configured-late": Case(
        "django_app", "django", "gunicorn", {"/v1/items/7": "/v1/items/<int:item_id>"}, "late"
    ),
    "django-asgi": Case(
        "django_app", "django", "uvicorn", {"/v1/items/7": "/v1/items/<int:item_id>"}, attribute="asgi_app"
    ),
    "wsgi": Case("wsgi_app", "gunicorn", "gunicorn", {"/v1/items/7": "/v1/items/{item_id}"}),
    "starlette": Case("starlette_app", "starlette", "uvicorn", {"/v1/items/7": "/v1/items/{item_id:int}"}),
    "fastapi": Case(
        "fastapi_app", "fastapi", "uvicorn", {"/v1/items/7": "/v1/items/{item_id}", "/v2/items/7": "/v2/items/{item_id}"}
    ),
    "fastapi-configured-late": Case(
        "fastapi_app", "fastapi", "uvicorn",
        {"/v1/items/7": "/v1/items/{item_id}", "/v2/items/7": "/v2/items/{item_id}"}, "late",
    ),
    "fastapi-wrapped-before-routes": Case(
        "fastapi_app", "fastapi", "uvicorn",
        {"/v1/items/7": "/v1/items/{item_id}", "/v2/items/7": "/v2/items/{item_id}"}, "wrapped",
    ),
    "asgi": Case("asgi_app", "uvicorn", "uvicorn", {"/v1/items/7": "/v1/items/{item_id}"}),
}


@dataclass
class Served:
    process: ManagedProcess
    port: int
    metrics_port: int
    service: str
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def get(self, path: str, port: int | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def scrape(self) -> str:
        status, body = self.get("/metrics", self.metrics_port)
        assert status == 200, body
        return body.decode()


def server_argv(server: str, app: str, port: int) -> list[str]:
    if server == "gunicorn":
        return [
            str(VENV_BIN / "gunicorn"), "-c", "python:obsbox_instrumentation.gunicorn",
            "-b", f"127.0.0.1:{port}", "-w", "2", app,
        ]
    return [
        str(VENV_BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", app,
    ]


def app_env(**overrides: str) -> dict[str, str]:
    env = demo_env(**FAST_EXPORT)
    env["PYTHONPATH"] = str(APPS) + ":" + env["PYTHONPATH"]
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def served(otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Served]]:
    """served(case) -> that case's server, started once and sent REPEAT requests per route."""
    cache: dict[str, Served] = {}
    tmp = tmp_path_factory.mktemp("frameworks")

    def get(name: str) -> Served:
        if name in cache:
            return cache[name]
        case = CASES[name]
        # Dev dependencies that `make setup` installs: a missing one is a broken set-up, so it fails.
        importlib.import_module(case.framework)
        importlib.import_module(case.server)
        port, metrics_port = free_port(), free_port()
        service = f"svc-{name}"
        env = app_env(
            OTEL_SERVICE_NAME=service, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OBSBOX_PROMETHEUS_PORT=str(metrics_port), APP_CONFIGURE=case.configure,
        )
        proc = ManagedProcess(name, server_argv(case.server, f"{case.module}:{case.attribute}", port), env, tmp / f"{name}.log").start()
        srv = cache[name] = Served(proc, port, metrics_port, service)
        proc.wait_http(f"http://127.0.0.1:{port}/v1/items/0", timeout=60)
        for path in case.routes:
            srv.bodies[path] = []
            for _ in range(REPEAT):
                status, body = srv.get(path, headers={"X-Tenant-ID": TENANT})
                assert status == 200, body
                srv.bodies[path].append(json.loads(body))
        return srv

    try:
        yield get
    finally:
        for srv in cache.values():
            srv.process.stop()


def _count(page: str, route: str, tenant: str) -> float:
    total = 0.0
    for line in page.splitlines():
        if (
            line.startswith("http_server_request_duration_seconds_count{")
            and f'http_route="{route}"' in line
            and f'tenant_id="{tenant}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _server_spans(otlp: OtlpReceiver, service: str, path: str) -> list[SpanRecord]:
    return [
        s for s in otlp.spans()
        if s.kind == SERVER_KIND and s.resource.get("service.name") == service and s.attributes.get("url.path") == path
    ]


@pytest.mark.parametrize("name", list(CASES))
def test_requests_are_on_metrics_with_route_and_tenant(served: Callable[[str], Served], name: str) -> None:
    """/metrics counts every request under its route template and capped tenant label."""
    srv = served(name)
    routes = CASES[name].routes.values()
    # The server records a request just after its last byte is sent, so the client may scrape
    # a moment before the last observation lands.
    deadline = time.monotonic() + 10
    page = srv.scrape()
    while time.monotonic() < deadline and any(_count(page, r, TENANT) < REPEAT for r in routes):
        time.sleep(0.05)  # polling interval of a bounded wait
        page = srv.scrape()
    for route in routes:
        assert _count(page, route, TENANT) == REPEAT, page


@pytest.mark.parametrize("name", list(CASES))
def test_one_server_span_per_request_with_route_and_tenant(
    served: Callable[[str], Served], otlp: OtlpReceiver, name: str
) -> None:
    """Each request is exactly one exported SERVER span named by its route, carrying tenant.id."""
    srv = served(name)
    for path, route in CASES[name].routes.items():
        assert otlp.wait_for(lambda p=path: len(_server_spans(otlp, srv.service, p)) >= REPEAT), srv.process.output()[-3000:]
        spans = _server_spans(otlp, srv.service, path)
        assert len(spans) == REPEAT, [(s.name, s.attributes) for s in spans]
        assert {s.name for s in spans} == {f"GET {route}"}
        assert {s.attributes.get("tenant.id") for s in spans} == {TENANT}


@pytest.mark.parametrize("name", list(CASES))
def test_tenant_reaches_handler_baggage_and_log_lines(served: Callable[[str], Served], name: str) -> None:
    """Inside the handler current_tenant() is the request's tenant, and its log line carries it and the trace."""
    srv = served(name)
    for bodies in srv.bodies.values():
        assert [b["tenant"] for b in bodies] == [TENANT] * REPEAT
    lines = []
    for raw in srv.process.output().splitlines():
        if raw.startswith("{"):
            record = json.loads(raw)
            if record.get("message") == "item served":
                lines.append(record)
    assert len(lines) >= REPEAT * len(CASES[name].routes)
    served_lines = [r for r in lines if r.get("tenant_id") == TENANT]
    assert len(served_lines) == REPEAT * len(CASES[name].routes), lines
    assert all(len(r.get("trace_id", "")) == 32 for r in served_lines), served_lines


@pytest.mark.parametrize("name", ["flask", "fastapi"])
def test_metrics_page_has_process_metrics_and_nothing_else_is_served(served: Callable[[str], Served], name: str) -> None:
    """/metrics carries process_* metrics of the serving process; any other path on the port is a 404."""
    srv = served(name)
    page = srv.scrape()
    for metric in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"):
        assert f"\n{metric} " in page, page[:2000]
    for path in ("/", "/favicon.ico", "/metricsx"):
        status, _ = srv.get(path, srv.metrics_port)
        assert status == 404, path
