"""gunicorn server hooks: ``gunicorn -c python:obsbox_instrumentation.gunicorn app:app``.

Or, in your own gunicorn.conf.py::

    from obsbox_instrumentation.gunicorn import on_starting, child_exit, on_exit  # noqa: F401

With these hooks the master prepares one fresh multiprocess directory and one
service.instance.id per server start and serves /metrics (OBSBOX_PROMETHEUS_HOST/PORT) with
every worker's counts, including workers recycled by ``max_requests``; the workers call
configure() (in the app, or through obsbox-instrument) and inherit all of it. The app may be
imported with or without ``--preload``.
"""

from __future__ import annotations

from typing import Any

from . import prefork

_state: prefork.MasterState | None = None


def on_starting(server: Any) -> None:
    global _state
    _state = prefork.prepare_master()


def child_exit(server: Any, worker: Any) -> None:
    prefork.worker_exited(worker.pid)


def on_exit(server: Any) -> None:
    if _state is not None:
        prefork.finish_master(_state)
