"""The WSGI entry point: ``gunicorn -c examples/demo_service/gunicorn_conf.py examples.demo_service.app:app``.

Importing this module builds the app and (unless OBSBOX_DEMO_INSTRUMENT=off) configures obsbox
for the process; tests that want an app without side effects use ``service.create_app``.
"""

from __future__ import annotations

from .service import create_app

app = create_app()
