"""The demo service's Flask app factory: a multi-tenant invoicing API instrumented with obsbox.

Run it with ``python -m examples.demo_service`` (dev server), under gunicorn with
``gunicorn -c examples/demo_service/gunicorn_conf.py examples.demo_service.app:app``, or under
``obsbox-instrument``. The tenant comes from the X-Tenant-ID header; /v1 and /v2 routes serve
the same invoices in two API versions; invoice details call the payments dependency; reports
are jobs on a Redis queue consumed by ``examples.demo_service.worker``; invoice renders are RQ
jobs (``examples.demo_service.invoices``) run by ``rq worker``.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from typing import Any

import requests
from flask import Flask, Response, abort, g, jsonify, request

from .faults import FaultError, FaultSwitches, parse_faults
from .instrument import instrument_app
from .invoices import InvoiceQueue
from .jobs import ReportQueue
from .settings import DemoSettings, load_settings

log = logging.getLogger("examples.demo_service")

TENANT_HEADER = "X-Tenant-ID"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
INVOICES_PER_TENANT = 25
REPORT_KINDS = ("revenue", "aging", "tax")


def _invoice(tenant: str, n: int) -> dict[str, Any]:
    h = zlib.crc32(f"{tenant}#{n}".encode())
    return {"id": f"inv-{n:04d}", "tenant": tenant, "amount_cents": h % 500_000, "currency": "EUR"}


class _Stats:
    """Counts this process's unhandled exceptions, so tests can prove none reached the app."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.unhandled = 0


def create_app(settings: DemoSettings | None = None, faults: FaultSwitches | None = None) -> Flask:
    settings = settings or load_settings()
    switches = faults or FaultSwitches.from_env()
    app = Flask("invoicing-demo")
    app.config["DEMO_SETTINGS"] = settings
    app.config["FAULTS"] = switches
    stats = _Stats()
    queue = ReportQueue(settings.redis_url, settings.queue)
    invoices = InvoiceQueue(settings.redis_url)
    local = threading.local()

    def payments() -> requests.Session:
        # one session per thread (and per forked worker): keep-alive to the dependency
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
        return s

    def tenant() -> str:
        t = request.headers.get(TENANT_HEADER, "").strip()
        if not t:
            abort(_error(400, f"the {TENANT_HEADER} header is required"))
        return t

    @app.before_request
    def inject_faults() -> None:
        rule = request.url_rule.rule if request.url_rule is not None else ""
        if not rule.startswith(("/v1/", "/v2/")):
            return
        decision = switches.decide(rule, request.headers.get(TENANT_HEADER, "").strip())
        g.dependency_delay_ms = decision.dependency_delay_ms
        if decision.latency_s > 0:
            time.sleep(decision.latency_s)  # the injected latency itself, not synchronisation
        if decision.status is not None:
            log.warning("injected fault: status %d on %s", decision.status, rule)
            abort(_error(decision.status, "injected fault"))

    @app.get("/ping")
    def ping() -> Response:
        return Response("pong", mimetype="text/plain")

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/v1/invoices")
    def list_invoices_v1() -> Response:
        t = tenant()
        # apps do log request lines; obsbox must keep secrets in query strings out of logs
        log.info("listing invoices for %s", request.full_path)
        invoices = [_invoice(t, n) for n in range(1, INVOICES_PER_TENANT + 1)]
        log.info("listed %d invoices", len(invoices))
        return jsonify(invoices)

    @app.get("/v1/invoices/<invoice_id>")
    def get_invoice_v1(invoice_id: str) -> Response:
        t = tenant()
        payment = _payment(t, invoice_id)
        log.info("served invoice %s", invoice_id)
        return jsonify({"id": invoice_id, "tenant": t, "payment": payment})

    @app.get("/v2/invoices")
    def list_invoices_v2() -> Response:
        t = tenant()
        try:
            limit = int(request.args.get("limit", "10"))
        except ValueError:
            abort(_error(400, "limit must be an integer"))
        if not 1 <= limit <= INVOICES_PER_TENANT:
            abort(_error(400, f"limit must be within 1..{INVOICES_PER_TENANT}"))
        items = [_invoice(t, n) for n in range(1, limit + 1)]
        # v2 embeds the payment state of the newest invoice: one dependency call per request
        items[0]["payment"] = _payment(t, items[0]["id"])
        log.info("listed %d invoices (v2)", len(items))
        return jsonify({"data": items, "next": None})

    @app.post("/v2/reports")
    def create_report() -> tuple[Response, int]:
        t = tenant()
        body = request.get_json(silent=True) or {}
        kind = body.get("kind", "revenue") if isinstance(body, dict) else None
        if kind not in REPORT_KINDS:
            abort(_error(400, f"kind must be one of {', '.join(REPORT_KINDS)}"))
        try:
            job = queue.enqueue(t, kind)
        except Exception as exc:  # redis.RedisError and socket errors: the queue is down
            log.error("cannot enqueue report: %s", exc)
            abort(_error(503, "report queue unavailable"))
        log.info("enqueued %s report job %s", kind, job.id)
        return jsonify(job_id=job.id, status="queued"), 202

    @app.post("/v2/invoices/<invoice_id>/render")
    def render_invoice(invoice_id: str) -> tuple[Response, int]:
        t = tenant()
        # The "jobs" fault switches decide here, at enqueue: a poison job fails in the worker
        # however often it runs, as a malformed invoice would.
        poison, extra_s = switches.job_decision()
        try:
            job_id = invoices.enqueue(t, invoice_id, poison=poison, extra_s=extra_s)
        except Exception as exc:  # redis.RedisError and socket errors: the queue is down
            log.error("cannot enqueue invoice render: %s", exc)
            abort(_error(503, "render queue unavailable"))
        log.info("enqueued render of invoice %s as job %s", invoice_id, job_id)
        return jsonify(job_id=job_id, status="queued"), 202

    @app.route("/admin/faults", methods=["GET", "POST", "DELETE"])
    def admin_faults() -> Response:
        # fault switches are an operator tool: only from this machine, whatever the bind address
        if request.remote_addr not in LOOPBACK:
            abort(_error(403, "the admin endpoint only answers loopback clients"))
        if request.method == "POST":
            try:
                switches.set(parse_faults(request.get_json(force=True, silent=False)))
            except FaultError as exc:
                abort(_error(400, str(exc)))
            except Exception:  # a body that is not JSON at all
                abort(_error(400, "body must be a JSON fault specification"))
            log.warning("fault switches changed")
        elif request.method == "DELETE":
            switches.set(parse_faults({}))
        return jsonify(switches.current.to_json())

    @app.get("/admin/stats")
    def admin_stats() -> Response:
        if request.remote_addr not in LOOPBACK:
            abort(_error(403, "the admin endpoint only answers loopback clients"))
        return jsonify(unhandled_exceptions=stats.unhandled)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception) -> Any:
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return exc
        with stats.lock:
            stats.unhandled += 1
        log.exception("unhandled exception")
        return _error(500, "internal error")

    def _payment(t: str, invoice_id: str) -> dict[str, Any]:
        headers = {}
        delay = getattr(g, "dependency_delay_ms", 0.0)
        if delay:
            headers["X-Delay-Ms"] = str(delay)
        try:
            resp = payments().get(
                f"{settings.payments_url}/payments/{invoice_id}",
                params={"tenant": t},
                headers=headers,
                timeout=settings.payments_timeout_s,
            )
        except requests.Timeout:
            log.error("payments dependency timed out after %.1fs", settings.payments_timeout_s)
            abort(_error(504, "payments dependency timed out"))
        except requests.ConnectionError as exc:
            log.error("payments dependency unreachable: %s", exc)
            abort(_error(502, "payments dependency unreachable"))
        if resp.status_code != 200:
            log.error("payments dependency answered %d", resp.status_code)
            abort(_error(502, f"payments dependency answered {resp.status_code}"))
        result: dict[str, Any] = resp.json()
        return result

    return instrument_app(app, settings)


def _error(status: int, message: str) -> Response:
    resp = jsonify(error=message)
    resp.status_code = status
    return resp
