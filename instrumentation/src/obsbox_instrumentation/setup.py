"""configure() and shutdown(): wire providers, exporters, logging, the pull endpoint, instrumentation.

Side effects live here and only here; everything it calls that decides something (settings,
resource, scrubbing, tenant cap, api version) is a pure function or a small object tested alone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource

from . import contract as c
from . import runtime as rt
from .export import (
    SIGNAL_LOGS,
    SIGNAL_TRACES,
    BoundedBatcher,
    ObsboxLogProcessor,
    ObsboxOtlpLogHandler,
    ObsboxSpanProcessor,
    SafeMetricExporter,
)
from .exporters import (
    LOGS,
    METRICS,
    TRACES,
    batch_options,
    choose_exporter,
    exporter_factory,
    metric_preferences,
)
from .instrumentors import auto_instrument as instrument_libraries
from .leanspan import LeanTracer
from .logs import JsonFormatter, ObsboxJsonHandler
from .metrics import Recorder, otel_attribute_keys
from .prefork import prefork_worker_kind, unwired_message
from .promserver import MetricsServer
from .resource import SERVICE_NAME, default_service_name, ensure_instance_id, resource_attributes
from .scrub import Scrubber
from .settings import (
    OBSBOX_DISABLED,
    OBSBOX_METRICS_SERVER_PID,
    PROMETHEUS_MULTIPROC_DIR,
    Settings,
    apply_otel_defaults,
    env_bool,
    resolve_settings,
)
from .tenant import TenantCap

_log = logging.getLogger("obsbox_instrumentation")
_lock = threading.RLock()
def configure(
    service_name: str | None = None,
    *,
    service_version: str | None = None,
    environment: str | None = None,
    tenant_header: str | None = None,
    tenant_extractor: Callable[[Mapping[str, Any]], str | None] | None = None,
    tenant_top_n: int | None = None,
    tenant_admit_after: int | None = None,
    api_version_header: str | None = None,
    api_version_extractor: Callable[[Mapping[str, Any]], str | None] | None = None,
    scrub_patterns: Iterable[str] | None = None,
    sample_ratio: float | None = None,
    prometheus: bool | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    prometheus_multiproc: bool | None = None,
    auto_instrument: bool | None = None,
    log_json: bool | None = None,
    log_level: str | None = None,
    log_stream: IO[str] | None = None,
    shutdown_timeout: float | None = None,
    span_exporter: Any | None = None,
    metric_readers: Sequence[Any] | None = None,
    log_exporter: Any | None = None,
) -> rt.Runtime | None:
    """Wire traces, metrics and logs for this process; idempotent (a second call returns the first
    call's runtime unchanged). Returns None when OBSBOX_DISABLED is true. See the package docstring.
    """
    with _lock:
        existing = rt.get()
        if existing is not None:
            return existing
        env = os.environ
        if env_bool(env, OBSBOX_DISABLED, False):
            return None
        # Before anything imports an upstream instrumentation: stable HTTP semconv (seconds).
        apply_otel_defaults(env)
        settings = resolve_settings(
            env,
            tenant_header=tenant_header, tenant_extractor=tenant_extractor, tenant_top_n=tenant_top_n,
            tenant_admit_after=tenant_admit_after, api_version_header=api_version_header,
            api_version_extractor=api_version_extractor,
            scrub_patterns=tuple(scrub_patterns) if scrub_patterns is not None else None,
            prometheus_enabled=prometheus, prometheus_host=prometheus_host, prometheus_port=prometheus_port,
            prometheus_multiproc=prometheus_multiproc, auto_instrument=auto_instrument, log_json=log_json,
            log_level=log_level, shutdown_timeout_s=shutdown_timeout,
        )
        instance_id = ensure_instance_id(env)
        default_name, source = default_service_name(Path.cwd(), list(getattr(sys, "argv", []) or []))
        attrs = resource_attributes(
            env, service_name=service_name, service_version=service_version, environment=environment,
            instance_id=instance_id, default_name=default_name,
        )
        resource = Resource.create(attrs)
        multiproc_dir, owns_dir = _multiproc_dir(settings)
        recorder = Recorder(
            multiprocess=multiproc_dir is not None, exemplars=True, pull=settings.prometheus_enabled
        )
        scrubber = Scrubber(settings.scrub_patterns)

        tracer_provider = _tracer_provider(resource, settings, recorder, scrubber, span_exporter, sample_ratio)
        meter_provider = _meter_provider(resource, settings, recorder, metric_readers)
        logger_provider, otel_handler = _logger_provider(resource, settings, recorder, scrubber, log_exporter)
        trace.set_tracer_provider(tracer_provider)
        otel_metrics.set_meter_provider(meter_provider)
        if logger_provider is not None:
            from opentelemetry._logs import set_logger_provider

            set_logger_provider(logger_provider)
        recorder.bind_meter_provider(meter_provider)

        runtime = rt.Runtime(
            settings=settings,
            service_name=str(attrs["service.name"]),
            resource_attributes=dict(resource.attributes),
            tracer=tracer_provider.get_tracer("obsbox_instrumentation"),
            server_tracer=_server_tracer(tracer_provider),
            recorder=recorder,
            tenant_cap=TenantCap(settings.tenant_top_n, settings.tenant_admit_after, multiproc_dir),
            scrubber=scrubber,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
            multiproc_dir=multiproc_dir,
            owns_multiproc_dir=owns_dir,
            pid=os.getpid(),
        )
        _install_logging(runtime, otel_handler, log_stream)
        if attrs[SERVICE_NAME] == default_name and not service_name and not env.get("OTEL_SERVICE_NAME"):
            _log.info(
                "obsbox: service.name=%s, taken from %s; set OTEL_SERVICE_NAME (or configure(service_name=)) to choose",
                default_name, source,
            )
        rt.set_current(runtime)
        os.register_at_fork(after_in_child=_keep_identity_after_fork)
        if settings.prometheus_enabled:
            runtime.metrics_server = _start_metrics_server(settings, recorder)
        if settings.auto_instrument:
            runtime.instrumented = instrument_libraries(settings)
        atexit.register(shutdown)
        return runtime


def _keep_identity_after_fork() -> None:
    """Undo the SDK's after-fork resource refresh for service.instance.id, keep the new pid.

    The SDK providers re-run process-dependent resource detectors in a forked child, and the
    service-instance detector mints a new id per process: every pre-fork worker would become a
    new instance. Runs after the SDK's hooks (after-fork hooks run in registration order).
    """
    runtime = rt.get()
    if runtime is None:
        return
    try:
        identity = Resource({
            "service.instance.id": runtime.resource_attributes["service.instance.id"],
            "process.pid": os.getpid(),
        })
        for provider in (runtime.tracer_provider, runtime.meter_provider, runtime.logger_provider):
            update = getattr(provider, "_update_resource", None)
            if update is not None:
                update(identity)
        # obsbox's own lean spans and OTLP log records carry the resource themselves.
        for processor in getattr(runtime.tracer_provider._active_span_processor, "_span_processors", ()):
            if isinstance(processor, ObsboxSpanProcessor) and processor._resource is not None:
                processor._resource = processor._resource.merge(identity)
        for handler in runtime.log_handlers:
            if isinstance(handler, ObsboxOtlpLogHandler):
                handler._resource = handler._resource.merge(identity)
    except Exception:
        _log.debug("obsbox: could not restore the resource after fork", exc_info=True)


def _multiproc_dir(settings: Settings) -> tuple[str | None, bool]:
    """The shared directory for pre-fork pull metrics and tenant admission; (path, owned)."""
    if not (settings.prometheus_enabled and settings.prometheus_multiproc):
        return None, False
    existing = os.environ.get(PROMETHEUS_MULTIPROC_DIR)
    if existing:
        os.makedirs(existing, exist_ok=True)
        return existing, False
    # Fresh per server start: created by the first process (the pre-fork master under the
    # launcher or the gunicorn hooks) and inherited by every worker through the environment.
    created = tempfile.mkdtemp(prefix="obsbox-prom-")
    os.environ[PROMETHEUS_MULTIPROC_DIR] = created
    return created, True


def _factory(signal: str, settings: Settings) -> Callable[[], Any] | None:
    return exporter_factory(choose_exporter(signal, os.environ, settings.export_timeout_s))


def _tracer_provider(
    resource: Resource, settings: Settings, recorder: Recorder, scrubber: Scrubber,
    span_exporter: Any | None, sample_ratio: float | None,
) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    sampler = ParentBased(TraceIdRatioBased(sample_ratio)) if sample_ratio is not None else None
    provider = TracerProvider(resource=resource, sampler=sampler)
    factory = (lambda: span_exporter) if span_exporter is not None else _factory(TRACES, settings)
    if factory is not None:
        batcher = BoundedBatcher(SIGNAL_TRACES, factory, recorder, **batch_options(TRACES, os.environ, settings.max_queue_size))
        provider.add_span_processor(ObsboxSpanProcessor(batcher, scrubber, settings.shutdown_timeout_s, resource))
    return provider


def _server_tracer(tracer_provider: Any) -> LeanTracer:
    """The lean tracer for server spans, feeding the same bounded batcher as the SDK spans."""
    sink = None
    for processor in getattr(tracer_provider._active_span_processor, "_span_processors", ()):
        if isinstance(processor, ObsboxSpanProcessor):
            sink = processor.batcher.put
    return LeanTracer(tracer_provider.sampler, sink)


def _views() -> list[Any]:
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    views = []
    for spec in c.METRICS:
        if spec.instrument is c.Instrument.HISTOGRAM:
            views.append(View(
                instrument_name=spec.otel_name,
                aggregation=ExplicitBucketHistogramAggregation(list(spec.buckets)),
                attribute_keys=otel_attribute_keys(spec),
            ))
        else:
            views.append(View(instrument_name=spec.otel_name, attribute_keys=otel_attribute_keys(spec)))
    return views


def _meter_provider(resource: Resource, settings: Settings, recorder: Recorder, readers: Sequence[Any] | None) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    all_readers = list(readers or ())
    if readers is None:
        choice = choose_exporter(METRICS, os.environ, settings.export_timeout_s)
        factory = exporter_factory(choice)
        if factory is not None:
            exporter = SafeMetricExporter(factory, recorder, metric_preferences(choice))
            all_readers.append(PeriodicExportingMetricReader(exporter))
    return MeterProvider(resource=resource, metric_readers=all_readers, views=_views())


def _logger_provider(
    resource: Resource, settings: Settings, recorder: Recorder, scrubber: Scrubber, log_exporter: Any | None,
) -> tuple[Any, Any]:
    factory = (lambda: log_exporter) if log_exporter is not None else _factory(LOGS, settings)
    if factory is None:
        return None, None
    from opentelemetry.sdk._logs import LoggerProvider

    provider = LoggerProvider(resource=resource)
    batcher = BoundedBatcher(SIGNAL_LOGS, factory, recorder, **batch_options(LOGS, os.environ, settings.max_queue_size))
    processor = ObsboxLogProcessor(batcher, scrubber, settings.shutdown_timeout_s)
    provider.add_log_record_processor(processor)
    # obsbox's own handler: the SDK's does the whole OTLP conversion on the logging call.
    handler = ObsboxOtlpLogHandler(processor.batcher, resource)
    processor.handler = handler
    return provider, handler


def _install_logging(runtime: rt.Runtime, otel_handler: Any, stream: IO[str] | None) -> None:
    root = logging.getLogger()
    root.setLevel(runtime.settings.log_level)
    if runtime.settings.log_json:
        handler = ObsboxJsonHandler(stream if stream is not None else sys.stdout)
        handler.setFormatter(JsonFormatter(runtime.service_name, runtime.scrubber))
        root.addHandler(handler)
        runtime.log_handlers.append(handler)
    if otel_handler is not None:
        root.addHandler(otel_handler)
        runtime.log_handlers.append(otel_handler)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_metrics_server(settings: Settings, recorder: Recorder) -> MetricsServer | None:
    # One endpoint per server start: a worker whose master (or earlier self) serves it stays quiet.
    owner = os.environ.get(OBSBOX_METRICS_SERVER_PID)
    if owner and owner.isdigit() and int(owner) != os.getpid() and _pid_alive(int(owner)):
        return None
    kind = prefork_worker_kind()
    if kind is not None:
        _warn_unwired_once(kind)
        return None
    try:
        server = MetricsServer(settings.prometheus_host, settings.prometheus_port, recorder.exposition)
    except OSError as exc:
        _log.warning(
            "obsbox: not serving /metrics: cannot bind %s:%s (%s); another process holds the port, "
            "and obsbox never shares it. Set OBSBOX_PROMETHEUS_PORT to a free port "
            "(or OBSBOX_PROMETHEUS_ENABLED=false)",
            settings.prometheus_host, settings.prometheus_port, exc,
        )
        return None
    os.environ[OBSBOX_METRICS_SERVER_PID] = str(os.getpid())
    return server


def _warn_unwired_once(kind: str) -> None:
    """Warn once per server start, not once per worker: the first worker of this master to get
    here creates a marker file named after the master's pid and start time."""
    try:
        with open(f"/proc/{os.getppid()}/stat", "rb") as fh:
            started = fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        started = "0"
    marker = os.path.join(tempfile.gettempdir(), f"obsbox-unwired-{os.getppid()}-{started}")
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    except OSError:
        pass  # no writable temp dir: warn in every worker rather than never
    _log.warning(unwired_message(kind))


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop everything configure() started, within ``timeout`` seconds (default
    OBSBOX_SHUTDOWN_TIMEOUT). Returns False if the deadline passed; never raises."""
    with _lock:
        runtime = rt.get()
        if runtime is None:
            return True
        rt.set_current(None)
    limit = runtime.settings.shutdown_timeout_s if timeout is None else timeout
    done = threading.Event()

    def _close() -> None:
        for provider in (runtime.tracer_provider, runtime.logger_provider, runtime.meter_provider):
            if provider is None:
                continue
            try:
                if provider is runtime.meter_provider:
                    provider.shutdown(timeout_millis=limit * 1000)
                else:
                    provider.shutdown()
            except Exception:
                _log.debug("obsbox: provider shutdown raised", exc_info=True)
        done.set()

    closer = threading.Thread(target=_close, name="obsbox-shutdown", daemon=True)
    closer.start()
    finished = done.wait(limit + 0.5)
    root = logging.getLogger()
    for handler in runtime.log_handlers:
        root.removeHandler(handler)
    if runtime.metrics_server is not None and runtime.pid == os.getpid():
        # Only the process that started the server thread can stop it (a forked child would
        # wait forever for a thread it does not have).
        with contextlib.suppress(Exception):
            runtime.metrics_server.close()
        if os.environ.get(OBSBOX_METRICS_SERVER_PID) == str(os.getpid()):
            os.environ.pop(OBSBOX_METRICS_SERVER_PID, None)
    if runtime.multiproc_dir is not None:
        _multiproc_cleanup(runtime)
    return finished


def _multiproc_cleanup(runtime: rt.Runtime) -> None:
    try:
        from prometheus_client import multiprocess

        # Live gauges (obsbox_job_workers) stop counting this process.
        multiprocess.mark_process_dead(os.getpid(), runtime.multiproc_dir)
    except Exception:
        pass
    if runtime.owns_multiproc_dir and runtime.pid == os.getpid():
        shutil.rmtree(runtime.multiproc_dir or "", ignore_errors=True)
        if os.environ.get(PROMETHEUS_MULTIPROC_DIR) == runtime.multiproc_dir:
            os.environ.pop(PROMETHEUS_MULTIPROC_DIR, None)
