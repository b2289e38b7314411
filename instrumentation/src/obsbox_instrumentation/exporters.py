"""Which exporter each signal gets, decided from the ``OTEL_*`` environment alone.

:func:`choose_exporter` and :func:`batch_options` are pure functions of the environment, named
by the SDK's own variable constants; only :func:`exporter_factory` imports an exporter. obsbox
reads these variables itself (rather than through the SDK's auto-configuration) because it wraps
every exporter in its bounded, never-blocking pipeline (export.py).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.sdk.environment_variables import (
    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BLRP_MAX_QUEUE_SIZE,
    OTEL_BLRP_SCHEDULE_DELAY,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
)

from .envvars import SettingsError, env_int, env_str

TRACES, METRICS, LOGS = "traces", "metrics", "logs"
SIGNALS = (TRACES, METRICS, LOGS)
EXPORTER_KINDS = ("otlp", "console", "none")
PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_PROTOCOL = "http/protobuf"

_EXPORTER_VAR = {TRACES: OTEL_TRACES_EXPORTER, METRICS: OTEL_METRICS_EXPORTER, LOGS: OTEL_LOGS_EXPORTER}
_PROTOCOL_VAR = {
    TRACES: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    METRICS: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    LOGS: OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
}
_TIMEOUT_VAR = {
    TRACES: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    METRICS: OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    LOGS: OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
}
# (queue size, batch size, schedule delay ms, default delay ms) per batched signal.
_BATCH_VARS = {
    TRACES: (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY, 5000),
    LOGS: (OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, OTEL_BLRP_SCHEDULE_DELAY, 1000),
}
_GRPC_MODULE = "opentelemetry.exporter.otlp.proto.grpc"


@dataclass(frozen=True)
class ExporterChoice:
    """One signal's exporter: ``kind`` otlp/console/none, the OTLP protocol, and the timeout obsbox
    passes (None when an OTEL_* timeout variable is set: the exporter then reads it itself)."""

    signal: str
    kind: str
    protocol: str
    timeout_s: float | None


def choose_exporter(signal: str, env: Mapping[str, str], export_timeout_s: float) -> ExporterChoice:
    """The exporter for ``signal``; a value obsbox cannot honour is a SettingsError naming the variable.

    Why an error and not upstream's warning-and-fall-back-to-OTLP: a typo such as
    ``OTEL_TRACES_EXPORTER=none,`` or ``=consol`` would otherwise send telemetry to a collector
    the user did not choose, and one warning among start-up lines is easily missed.
    """
    name = _EXPORTER_VAR[signal]
    value = env_str(env, name)
    kinds = [item.strip().lower() for item in (value or "otlp").split(",")]
    if any(kind not in EXPORTER_KINDS for kind in kinds):
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(EXPORTER_KINDS)}")
    protocol_var = _PROTOCOL_VAR[signal]
    protocol = env_str(env, protocol_var)
    if protocol is None:
        protocol_var = OTEL_EXPORTER_OTLP_PROTOCOL
        protocol = env_str(env, protocol_var)
    protocol = protocol or DEFAULT_PROTOCOL
    # "http" is not in the specification but was accepted before; it means http/protobuf.
    if protocol == "http":
        protocol = DEFAULT_PROTOCOL
    if protocol not in PROTOCOLS:
        raise SettingsError(f"{protocol_var}={protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if protocol == "grpc" and kinds[0] == "otlp" and importlib.util.find_spec(_GRPC_MODULE) is None:
        raise SettingsError(
            f"{protocol_var}='grpc': the gRPC exporter is not installed; "
            "pip install 'obsbox-instrumentation[grpc]' or use http/protobuf"
        )
    user_timeout = env_str(env, _TIMEOUT_VAR[signal]) or env_str(env, OTEL_EXPORTER_OTLP_TIMEOUT)
    return ExporterChoice(signal, kinds[0], protocol, None if user_timeout else export_timeout_s)


def check_exporter_env(env: Mapping[str, str]) -> None:
    """Refuse any OTEL_* exporter variable obsbox cannot honour, for every signal."""
    for signal in SIGNALS:
        choose_exporter(signal, env, 0.0)


def batch_options(signal: str, env: Mapping[str, str], max_queue_size: int) -> dict[str, Any]:
    """The bounded batcher's sizes for a batched signal (traces, logs) from OTEL_BSP_*/OTEL_BLRP_*."""
    queue_var, batch_var, delay_var, default_delay_ms = _BATCH_VARS[signal]
    return {
        "max_queue_size": env_int(env, queue_var, max_queue_size, minimum=1),
        "max_batch_size": env_int(env, batch_var, 512, minimum=1),
        "schedule_delay_s": env_int(env, delay_var, default_delay_ms) / 1000.0,
    }


def exporter_factory(choice: ExporterChoice) -> Callable[[], Any] | None:
    """A factory building the chosen exporter (None for ``none``); imports happen here only."""
    if choice.kind == "none":
        return None
    if choice.kind == "console":
        console_class = _exporter_class("console", choice.signal)
        return lambda: console_class(out=sys.stderr)
    kwargs: dict[str, Any] = {} if choice.timeout_s is None else {"timeout": choice.timeout_s}
    exporter_class = _exporter_class("grpc" if choice.protocol == "grpc" else "http", choice.signal)
    return lambda: exporter_class(**kwargs)


def metric_preferences(choice: ExporterChoice) -> Any | None:
    """An HTTP OTLP metric exporter used only for its temporality/aggregation preferences (the
    gRPC exporter reads the same variables the same way, but opens a channel when built)."""
    if choice.kind != "otlp":
        return None
    try:
        return _exporter_class("http", METRICS)()
    except Exception:
        return None


# The exporter class per (transport, signal), imported only when chosen. The gRPC package is
# present whenever it is chosen: choose_exporter refused grpc without the [grpc] extra.
_EXPORTER_CLASSES = {
    ("http", TRACES): "opentelemetry.exporter.otlp.proto.http.trace_exporter:OTLPSpanExporter",
    ("http", METRICS): "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter",
    ("http", LOGS): "opentelemetry.exporter.otlp.proto.http._log_exporter:OTLPLogExporter",
    ("grpc", TRACES): "opentelemetry.exporter.otlp.proto.grpc.trace_exporter:OTLPSpanExporter",
    ("grpc", METRICS): "opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter",
    ("grpc", LOGS): "opentelemetry.exporter.otlp.proto.grpc._log_exporter:OTLPLogExporter",
    ("console", TRACES): "opentelemetry.sdk.trace.export:ConsoleSpanExporter",
    ("console", METRICS): "opentelemetry.sdk.metrics.export:ConsoleMetricExporter",
    ("console", LOGS): "opentelemetry.sdk._logs.export:ConsoleLogExporter",
}


def _exporter_class(transport: str, signal: str) -> Any:
    module, name = _EXPORTER_CLASSES[(transport, signal)].split(":")
    return getattr(importlib.import_module(module), name)
