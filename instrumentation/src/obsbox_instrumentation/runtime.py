"""What configure() built, in one object the middleware, jobs and client hooks read.

Kept apart from configure() so hot-path modules import no set-up code, and so a component
used before configure() (``instrument_flask(app)`` at import time) sees ``None`` and stays inert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import Tracer

from .leanspan import LeanTracer
from .metrics import Recorder
from .promserver import MetricsServer
from .scrub import Scrubber
from .settings import Settings
from .tenant import TenantCap


@dataclass
class Runtime:
    settings: Settings
    service_name: str
    resource_attributes: dict[str, Any]
    tracer: Tracer
    server_tracer: LeanTracer
    recorder: Recorder
    tenant_cap: TenantCap
    scrubber: Scrubber
    tracer_provider: Any
    meter_provider: Any
    logger_provider: Any
    multiproc_dir: str | None
    owns_multiproc_dir: bool
    metrics_server: MetricsServer | None = None
    log_handlers: list[Any] = field(default_factory=list)
    instrumented: list[str] = field(default_factory=list)
    pid: int = 0

    @property
    def prometheus_address(self) -> tuple[str, int] | None:
        """(host, port) of the metrics endpoint this process serves, if it serves one."""
        return self.metrics_server.address if self.metrics_server is not None else None


_current: Runtime | None = None


def get() -> Runtime | None:
    return _current


def set_current(runtime: Runtime | None) -> None:
    global _current
    _current = runtime
