"""Fixtures for the instrumentation package's unit tests: configure() with in-memory exporters
(obsbox_instrumentation.testing), and a full reset afterwards (obsbox's own reset, plus the
environment and prometheus_client's value class, which are the test process's to restore)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from obsbox_instrumentation import testing
from prometheus_client import values as prom_values

Configured = testing.Captured


@pytest.fixture(autouse=True)
def isolated_globals(tmp_path: Any) -> Iterator[None]:
    """Every test starts unconfigured, with a clean environment, and leaves nothing behind."""
    saved_env = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("OTEL_", "OBSBOX_")) or key == "PROMETHEUS_MULTIPROC_DIR":
            del os.environ[key]
    os.environ["OBSBOX_PROMETHEUS_PORT"] = "0"  # never the fixed default port in tests
    saved_value_class = prom_values.ValueClass
    yield
    testing.reset()
    prom_values.ValueClass = saved_value_class
    os.environ.clear()
    os.environ.update(saved_env)


@pytest.fixture
def configure_obsbox() -> Any:
    """Call as ``configure_obsbox(**kwargs)``; in-memory exporters, JSON logs captured."""

    def _configure(**kwargs: Any) -> Configured:
        kwargs.setdefault("service_name", "unit-svc")
        return testing.configure_in_memory(**kwargs)

    return _configure
