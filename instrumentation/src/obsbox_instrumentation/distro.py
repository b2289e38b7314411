"""Registration with opentelemetry-instrument (entry points ``opentelemetry_distro`` and
``opentelemetry_configurator``, both named ``obsbox``).

Selecting obsbox: ``OTEL_PYTHON_DISTRO=obsbox OTEL_PYTHON_CONFIGURATOR=obsbox opentelemetry-instrument ...``
(``obsbox-instrument`` sets both). No collision with opentelemetry-distro: when neither variable
names obsbox and another distro/configurator is installed, upstream's loader may still pick
obsbox's entry point first (it takes the first one found); obsbox then delegates to the other
one, so plain ``opentelemetry-instrument`` behaves exactly as without obsbox installed.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator
from opentelemetry.util._importlib_metadata import entry_points

_log = logging.getLogger(__name__)
NAME = "obsbox"


def _other(group: str) -> Any | None:
    """The first installed entry point of ``group`` that is not obsbox's."""
    for ep in entry_points(group=group):
        if ep.name != NAME:
            return ep
    return None


def distro_selected() -> bool:
    """True when opentelemetry-instrument should use obsbox's distro."""
    chosen = os.environ.get("OTEL_PYTHON_DISTRO")
    return chosen == NAME or (not chosen and _other("opentelemetry_distro") is None)


def configurator_selected() -> bool:
    chosen = os.environ.get("OTEL_PYTHON_CONFIGURATOR")
    return chosen == NAME or (not chosen and _other("opentelemetry_configurator") is None)


class ObsboxDistro(BaseDistro):
    """Sets obsbox's OTEL_* defaults before instrumentors load and skips the ones obsbox replaces."""

    def __init__(self) -> None:
        self._delegate: BaseDistro | None = None
        if not distro_selected():
            ep = _other("opentelemetry_distro")
            if ep is not None:
                self._delegate = ep.load()()

    def _configure(self, **kwargs: Any) -> None:
        if self._delegate is not None:
            self._delegate.configure(**kwargs)
            return
        from .settings import apply_otel_defaults

        apply_otel_defaults(os.environ)

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        if self._delegate is not None:
            self._delegate.load_instrumentor(entry_point, **kwargs)
            return
        from .patches import replaced_instrumentations

        if entry_point.name in replaced_instrumentations():
            return  # obsbox's own hooks (applied by the configurator) cover these
        # opentelemetry-instrument checks dependencies per distribution only, then skips the
        # instrumentor's own check: an instrumentor for an absent library (httpx2 beside httpx)
        # would fail at every start.
        from .instrumentors import instruments_installed_library

        instrumentor = entry_point.load()()
        if not instruments_installed_library(instrumentor, entry_point.name):
            return
        instrumentor.instrument(**kwargs)


class ObsboxConfigurator(_BaseConfigurator):
    """Runs obsbox.configure(); upstream instrumentors are then loaded by opentelemetry-instrument."""

    def _configure(self, **kwargs: Any) -> None:
        if not configurator_selected():
            ep = _other("opentelemetry_configurator")
            if ep is not None:
                ep.load()().configure(**kwargs)
                return
        from .instrumentors import apply_own_hooks
        from .patches import replaced_instrumentations
        from .setup import configure

        # Keep opentelemetry-instrument's loader away from what obsbox replaces, whichever
        # distro it uses; then configure without a second pass over the upstream instrumentors.
        disabled = [x for x in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",") if x.strip()]
        os.environ["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = ",".join(
            dict.fromkeys([*disabled, *sorted(replaced_instrumentations())])
        )
        runtime = configure(auto_instrument=False)
        if runtime is not None:
            runtime.instrumented = apply_own_hooks(runtime.settings)
