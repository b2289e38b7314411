"""Pre-fork servers: what the master must do once per server start so workers agree.

A pre-fork master (gunicorn, celery prefork, uwsgi) that never calls configure() itself can
call :func:`prepare_master` instead: it creates a fresh ``PROMETHEUS_MULTIPROC_DIR`` (or empties
the one given, since stale files from the last start would be added to this start's counts),
fixes ``OBSBOX_SERVICE_INSTANCE_ID`` and serves the aggregated /metrics page from the master,
so a scrape sees every worker, including those recycled by ``max_requests``.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import MutableMapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .promserver import MetricsServer
from .resource import ensure_instance_id
from .settings import OBSBOX_METRICS_SERVER_PID, PROMETHEUS_MULTIPROC_DIR, resolve_settings
from .tenant import ADMISSION_FILE

_log = logging.getLogger(__name__)


@dataclass
class MasterState:
    multiproc_dir: str
    owns_dir: bool
    instance_id: str
    server: MetricsServer | None


def fresh_multiproc_dir(env: MutableMapping[str, str]) -> tuple[str, bool]:
    """A clean directory for this server start, exported in ``env``; (path, created_here)."""
    given = env.get(PROMETHEUS_MULTIPROC_DIR)
    if given:
        os.makedirs(given, exist_ok=True)
        for path in glob.glob(os.path.join(given, "*.db")) + [os.path.join(given, ADMISSION_FILE)]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        return given, False
    created = tempfile.mkdtemp(prefix="obsbox-prom-")
    env[PROMETHEUS_MULTIPROC_DIR] = created
    return created, True


def multiprocess_exposition(directory: str):  # type: ignore[no-untyped-def]
    """An exposition callable over every process's files in ``directory``, plus the ``process_*``
    metrics of the process serving it (the master)."""

    def exposition(accept: str) -> tuple[bytes, str]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        ProcessCollector(registry=registry)
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type

    return exposition


def prepare_master(env: MutableMapping[str, str] | None = None, serve: bool = True) -> MasterState:
    """Run once in the master before workers start (gunicorn's ``on_starting``)."""
    env = os.environ if env is None else env
    directory, owns = fresh_multiproc_dir(env)
    instance_id = ensure_instance_id(env)
    server = None
    settings = resolve_settings(env)
    # A master that configure()d itself (obsbox-instrument) already serves the page.
    already = env.get(OBSBOX_METRICS_SERVER_PID) == str(os.getpid())
    if serve and settings.prometheus_enabled and not already:
        try:
            server = MetricsServer(settings.prometheus_host, settings.prometheus_port, multiprocess_exposition(directory))
            env[OBSBOX_METRICS_SERVER_PID] = str(os.getpid())
        except OSError as exc:
            _log.warning("obsbox: cannot serve metrics on %s:%s (%s)", settings.prometheus_host, settings.prometheus_port, exc)
    return MasterState(directory, owns, instance_id, server)


def worker_exited(pid: int, env: MutableMapping[str, str] | None = None) -> None:
    """A worker died: its live gauges stop counting (its counters and histograms stay)."""
    env = os.environ if env is None else env
    directory = env.get(PROMETHEUS_MULTIPROC_DIR)
    if directory:
        mark_process_dead(pid, directory)


def finish_master(state: MasterState) -> None:
    """The server stops: close the endpoint and remove a directory obsbox created."""
    if state.server is not None:
        state.server.close()
    if state.owns_dir:
        shutil.rmtree(state.multiproc_dir, ignore_errors=True)


def prefork_worker_kind() -> str | None:
    """``"gunicorn"`` or ``"uvicorn"`` when this process is one of several (more than one)
    workers of a server, else None.

    A gunicorn worker imports the app from ``Worker.init_process`` (found on the call stack while
    configure() runs at import); ``uvicorn --workers N`` starts each worker through
    ``uvicorn._subprocess.subprocess_started``. Without the launcher or the gunicorn hooks such
    a worker has no shared metrics directory and no master serving /metrics: each worker would
    count alone.
    """
    gunicorn_base = sys.modules.get("gunicorn.workers.base")
    worker_cls = getattr(gunicorn_base, "Worker", None)
    frame = sys._getframe(1)
    while frame is not None:
        worker = frame.f_locals.get("self") if frame.f_code.co_name == "init_process" else None
        if worker_cls is not None and isinstance(worker, worker_cls):
            # A single worker (gunicorn's default) holds all the counts: it may serve them.
            workers = getattr(getattr(worker, "cfg", None), "workers", 2)
            return "gunicorn" if not isinstance(workers, int) or workers > 1 else None
        if frame.f_code.co_name == "subprocess_started" and frame.f_globals.get("__name__") == "uvicorn._subprocess":
            return "uvicorn"
        frame = frame.f_back  # type: ignore[assignment]
    return None


def unwired_message(kind: str) -> str:
    """The one warning for a pre-fork worker without the multi-process wiring."""
    hooks = (
        "or add obsbox's gunicorn hooks (gunicorn -c python:obsbox_instrumentation.gunicorn ..., or "
        "`from obsbox_instrumentation.gunicorn import on_starting, child_exit, on_exit` in your "
        "gunicorn.conf.py)"
        if kind == "gunicorn"
        else "or run a single uvicorn process per port"
    )
    return (
        f"obsbox: not serving /metrics: this is a {kind} worker and nothing prepared the metrics "
        "shared by all workers, so each worker would serve only its own counts (and workers "
        "sharing the port would answer scrapes at random). Start the server with "
        f"`obsbox-instrument {kind} ...` {hooks}. OTLP export is not affected."
    )
