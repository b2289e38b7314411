"""Wire the obsbox package into the demo app (or leave it bare for baselines).

``configure()`` is idempotent: under ``obsbox-instrument`` or the gunicorn hooks the process is
already configured and this only attaches the Flask hook (also idempotent).
"""

from __future__ import annotations

from flask import Flask

from .settings import DemoSettings


def instrument_app(app: Flask, settings: DemoSettings) -> Flask:
    if settings.instrument == "off":
        return app
    from obsbox_instrumentation import configure, instrument_flask

    configure(service_name=settings.service_name)
    instrument_flask(app)
    return app
