"""obsbox_instrumentation: one call gives a Python service traces, metrics and JSON logs.

Public API (stable; the demo service and the tier-2 tests code against exactly this)::

    import obsbox_instrumentation as obsbox

    runtime = obsbox.configure(
        service_name=None,            # else OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ./pyproject.toml name
        *,
        service_version=None, environment=None,        # deployment.environment.name
        tenant_header=None,           # default "X-Tenant-ID" (OBSBOX_TENANT_HEADER)
        tenant_extractor=None,        # callable(wsgi_environ) -> str | None, tried before the header
        tenant_top_n=None,            # default 20 (OBSBOX_TENANT_TOP_N)
        tenant_admit_after=None,      # requests before a tenant may take a slot, default 1
        api_version_header=None,      # default "X-API-Version" (OBSBOX_API_VERSION_HEADER)
        api_version_extractor=None,   # callable(wsgi_environ) -> str | None, tried first
                                      # (ASGI apps: a WSGI-style dict of the headers plus "asgi.scope")
        scrub_patterns=None,          # default authorization, cookie, password, token, ... (OBSBOX_SCRUB_PATTERNS)
        sample_ratio=None,            # ParentBased(TraceIdRatio); default from OTEL_TRACES_SAMPLER(_ARG), 1.0
        prometheus=None,              # serve /metrics (OBSBOX_PROMETHEUS_ENABLED, default true)
        prometheus_host=None,         # OBSBOX_PROMETHEUS_HOST, default 127.0.0.1
        prometheus_port=None,         # OBSBOX_PROMETHEUS_PORT, default 9464; 0 = any free port
        prometheus_multiproc=None,    # OBSBOX_PROMETHEUS_MULTIPROC, default true (pre-fork safe)
        auto_instrument=None,         # OBSBOX_INSTRUMENT, default true
        log_json=None, log_level=None, log_stream=None,   # JSON lines on stdout at INFO
        shutdown_timeout=None,        # OBSBOX_SHUTDOWN_TIMEOUT seconds, default 5
        span_exporter=None, metric_readers=None, log_exporter=None,   # tests: in-memory ones
    ) -> Runtime | None               # idempotent; None when OBSBOX_DISABLED=true

    runtime.prometheus_address       # (host, port) this process serves /metrics on, or None
    runtime.recorder.exposition()     # (body, content_type) of the Prometheus page
    obsbox.shutdown(timeout=None) -> bool    # bounded flush; also registered with atexit
    obsbox.instrument_flask(app) / obsbox.instrument_wsgi(wsgi_app, route_resolver=None)   # automatic for Flask, Django
    obsbox.instrument_asgi(asgi_app, route_resolver=None)  # automatic for Starlette/FastAPI (hooked in place)
    obsbox.tenant_context(tenant_id)  # context manager: run a block as a tenant
    obsbox.current_tenant() -> str | None
    obsbox.jobs.track_job(queue, job_name, *, tenant_id=None, carrier=None) as job: job.retry() / job.fail()
    obsbox.jobs.inject_context(carrier) ; obsbox.jobs.record_queue_stats(queue, depth, oldest_age_s)
    obsbox.jobs.set_workers(queue, n) ; obsbox.jobs.worker_alive(queue)
    obsbox.gunicorn                   # gunicorn -c python:obsbox_instrumentation.gunicorn ...
    obsbox_instrumentation.prefork.prepare_master()   # other pre-fork masters: once before forking

Automatic with auto_instrument: Flask, Django, Starlette and FastAPI apps, created before or
after configure(), outgoing ``requests`` and ``httpx`` calls (obsbox's own hooks), every other
installed upstream instrumentation whose library is installed. Server spans use a lean Span implementation that only obsbox's export
pipeline receives (see leanspan.py).

Zero code: ``obsbox-instrument <command...>`` (or ``opentelemetry-instrument`` with
OTEL_PYTHON_DISTRO=obsbox OTEL_PYTHON_CONFIGURATOR=obsbox). Every metric, label and log field
is declared in :mod:`obsbox_instrumentation.contract`.
"""

from __future__ import annotations

from . import contract, jobs
from .asgi import instrument_asgi
from .runtime import Runtime
from .setup import configure, shutdown
from .tenant import current_tenant, tenant_context
from .wsgi import instrument_flask, instrument_wsgi

__all__ = [
    "Runtime",
    "instrument_asgi",
    "configure",
    "contract",
    "current_tenant",
    "instrument_flask",
    "instrument_wsgi",
    "jobs",
    "shutdown",
    "tenant_context",
]
