"""gunicorn settings for the demo: ``gunicorn -c examples/demo_service/gunicorn_conf.py examples.demo_service.app:app``.

Loopback by default; command-line flags (-b, -w, --max-requests) override these. Unless the demo
runs bare (OBSBOX_DEMO_INSTRUMENT=off), obsbox's gunicorn hooks configure telemetry pre-fork-safe:
one service.instance.id and one /metrics endpoint for the master and all its (recycled) workers.
"""

from __future__ import annotations

import os
import tempfile
from types import ModuleType

bind = os.environ.get("OBSBOX_DEMO_BIND", "127.0.0.1:8000")
workers = 2
# A short grace so recycling and shutdown stay quick; demo requests take milliseconds.
graceful_timeout = 5
timeout = 30

# Every worker must see the same fault switches: share them through one file per server start.
if not os.environ.get("OBSBOX_DEMO_FAULTS_FILE"):
    os.environ["OBSBOX_DEMO_FAULTS_FILE"] = os.path.join(
        tempfile.mkdtemp(prefix="obsbox-demo-"), "faults.json"
    )

if os.environ.get("OBSBOX_DEMO_INSTRUMENT", "obsbox").strip().lower() != "off":
    _obsbox_gunicorn: ModuleType | None
    try:
        from obsbox_instrumentation import gunicorn as _obsbox_gunicorn
    except ImportError:  # an older package without hooks: each worker configures itself on import
        _obsbox_gunicorn = None
    if _obsbox_gunicorn is not None:
        for _name in (
            "on_starting",
            "when_ready",
            "pre_fork",
            "post_fork",
            "post_worker_init",
            "child_exit",
            "worker_exit",
            "on_exit",
        ):
            _hook = getattr(_obsbox_gunicorn, _name, None)
            if callable(_hook):
                globals()[_name] = _hook
