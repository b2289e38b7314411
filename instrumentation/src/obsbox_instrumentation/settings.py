"""obsbox's own settings (``OBSBOX_*``), resolved once from arguments and the environment.

Precedence, highest first: an explicit ``configure()`` argument, the ``OBSBOX_*`` variable, the
default here. Standard ``OTEL_*`` variables are read where OpenTelemetry defines them (exporter
endpoints, sampler, resource); see :func:`otel_defaults` for the few OTEL_* defaults obsbox changes.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .contract import DEFAULT_TENANT_TOP_N, SLI_EXCLUDED_ROUTES

# Every OBSBOX_* variable, named once (docs/architecture.md, Conventions).
OBSBOX_DISABLED = "OBSBOX_DISABLED"
OBSBOX_SERVICE_INSTANCE_ID = "OBSBOX_SERVICE_INSTANCE_ID"
OBSBOX_PROMETHEUS_ENABLED = "OBSBOX_PROMETHEUS_ENABLED"
OBSBOX_PROMETHEUS_HOST = "OBSBOX_PROMETHEUS_HOST"
OBSBOX_PROMETHEUS_PORT = "OBSBOX_PROMETHEUS_PORT"
OBSBOX_PROMETHEUS_MULTIPROC = "OBSBOX_PROMETHEUS_MULTIPROC"
OBSBOX_METRICS_SERVER_PID = "OBSBOX_METRICS_SERVER_PID"
OBSBOX_TENANT_HEADER = "OBSBOX_TENANT_HEADER"
OBSBOX_TENANT_TOP_N = "OBSBOX_TENANT_TOP_N"
OBSBOX_TENANT_ADMIT_AFTER = "OBSBOX_TENANT_ADMIT_AFTER"
OBSBOX_API_VERSION_HEADER = "OBSBOX_API_VERSION_HEADER"
OBSBOX_SCRUB_PATTERNS = "OBSBOX_SCRUB_PATTERNS"
OBSBOX_SHUTDOWN_TIMEOUT = "OBSBOX_SHUTDOWN_TIMEOUT"
OBSBOX_MAX_QUEUE_SIZE = "OBSBOX_MAX_QUEUE_SIZE"
OBSBOX_EXPORT_TIMEOUT = "OBSBOX_EXPORT_TIMEOUT"
OBSBOX_LOG_JSON = "OBSBOX_LOG_JSON"
OBSBOX_LOG_LEVEL = "OBSBOX_LOG_LEVEL"
OBSBOX_INSTRUMENT = "OBSBOX_INSTRUMENT"
OBSBOX_DISABLED_INSTRUMENTATIONS = "OBSBOX_DISABLED_INSTRUMENTATIONS"
OBSBOX_SLI_EXCLUDE_ROUTES = "OBSBOX_SLI_EXCLUDE_ROUTES"
PROMETHEUS_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

DEFAULT_PROMETHEUS_HOST = "127.0.0.1"
DEFAULT_PROMETHEUS_PORT = 9464
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
DEFAULT_EXPORT_TIMEOUT_S = 3.0
DEFAULT_MAX_QUEUE_SIZE = 2048
DEFAULT_TENANT_ADMIT_AFTER = 1
DEFAULT_TENANT_HEADER = "X-Tenant-ID"
DEFAULT_API_VERSION_HEADER = "X-API-Version"
DEFAULT_SCRUB_PATTERNS: tuple[str, ...] = (
    "authorization",
    "cookie",
    "set-cookie",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "session",
    "credential",
    "private_key",
)

# Health and probe endpoints a load balancer or orchestrator polls: kept out of
# http.server.request.duration so they neither dilute the SLIs nor satisfy the SLO rules'
# low-traffic guard on their own (docs/rules.md). Matched against the route template, or the
# path when the framework gives no template; their spans are still traced.
DEFAULT_SLI_EXCLUDE_ROUTES: tuple[str, ...] = SLI_EXCLUDED_ROUTES

# OTEL_* defaults obsbox changes from upstream's (only when the user has not set them).
OTEL_DEFAULTS: Mapping[str, str] = {
    # Stable HTTP semantic conventions: seconds, http.server.request.duration.
    "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "1.0",
    "OTEL_METRICS_EXEMPLAR_FILTER": "trace_based",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    # Pre-fork workers share one service.instance.id (on purpose), so their cumulative series
    # would collide; deltas from every worker add up correctly in the collector.
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
}


class SettingsError(ValueError):
    """A setting has a value obsbox cannot use; the message names the variable."""


def _env_str(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _env_str(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    value = _env_str(env, name)
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected an integer") from None
    if parsed < minimum:
        raise SettingsError(f"{name}={value!r}: must be >= {minimum}")
    return parsed


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    value = _env_str(env, name)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if parsed < minimum:
        raise SettingsError(f"{name}={value!r}: must be >= {minimum}")
    return parsed


@dataclass(frozen=True)
class Settings:
    """Everything configure() decided, after arguments and environment were merged."""

    tenant_header: str = DEFAULT_TENANT_HEADER
    tenant_extractor: Callable[[Mapping[str, Any]], str | None] | None = None
    tenant_top_n: int = DEFAULT_TENANT_TOP_N
    tenant_admit_after: int = DEFAULT_TENANT_ADMIT_AFTER
    api_version_header: str = DEFAULT_API_VERSION_HEADER
    api_version_extractor: Callable[[Mapping[str, Any]], str | None] | None = None
    scrub_patterns: tuple[str, ...] = DEFAULT_SCRUB_PATTERNS
    prometheus_enabled: bool = True
    prometheus_host: str = DEFAULT_PROMETHEUS_HOST
    prometheus_port: int = DEFAULT_PROMETHEUS_PORT
    prometheus_multiproc: bool = True
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT_S
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    log_json: bool = True
    log_level: str = "INFO"
    auto_instrument: bool = True
    disabled_instrumentations: frozenset[str] = field(default_factory=frozenset)
    sli_exclude_routes: frozenset[str] = frozenset(DEFAULT_SLI_EXCLUDE_ROUTES)


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
OTEL_EXPORTER_CHOICES = ("otlp", "console", "none")
OTEL_PROTOCOL_CHOICES = ("http/protobuf", "grpc")
SIGNALS = ("traces", "metrics", "logs")


def check_otel_exporter_settings(env: Mapping[str, str]) -> None:
    """The OTEL_* exporter variables obsbox reads itself follow obsbox's rule for OBSBOX_*
    variables: a value obsbox cannot honour is a SettingsError naming the variable.

    Why an error and not upstream's warning-and-fall-back-to-OTLP: a typo such as
    ``OTEL_TRACES_EXPORTER=none,`` or ``=consol`` would otherwise send telemetry to a collector
    the user did not choose, and one warning among start-up lines is easily missed.
    """
    for signal in SIGNALS:
        name = f"OTEL_{signal.upper()}_EXPORTER"
        value = _env_str(env, name)
        if value is None:
            continue
        items = [item.strip().lower() for item in value.split(",")]
        if any(item not in OTEL_EXPORTER_CHOICES for item in items):
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(OTEL_EXPORTER_CHOICES)}")
    for signal in SIGNALS:
        name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
        value = _env_str(env, name)
        if value is None:
            name = "OTEL_EXPORTER_OTLP_PROTOCOL"
            value = _env_str(env, name)
        if value is None:
            continue
        # "http" is not in the specification but was accepted before; it means http/protobuf.
        if value not in (*OTEL_PROTOCOL_CHOICES, "http"):
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(OTEL_PROTOCOL_CHOICES)}")
        exporter = (_env_str(env, f"OTEL_{signal.upper()}_EXPORTER") or "otlp").split(",")[0].strip().lower()
        if (
            value == "grpc"
            and exporter == "otlp"
            and importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is None
        ):
            raise SettingsError(
                f"{name}='grpc': the gRPC exporter is not installed; "
                "pip install 'obsbox-instrumentation[grpc]' or use http/protobuf"
            )


def resolve_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Merge explicit arguments (non-None wins) over OBSBOX_* variables over defaults."""
    check_otel_exporter_settings(env)
    patterns_env = _env_str(env, OBSBOX_SCRUB_PATTERNS)
    patterns = (
        tuple(p.strip().lower() for p in patterns_env.split(",") if p.strip())
        if patterns_env is not None
        else DEFAULT_SCRUB_PATTERNS
    )
    log_level = (_env_str(env, OBSBOX_LOG_LEVEL) or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise SettingsError(f"{OBSBOX_LOG_LEVEL}={log_level!r}: expected one of {', '.join(_LOG_LEVELS)}")
    disabled = _env_str(env, OBSBOX_DISABLED_INSTRUMENTATIONS) or ""
    # Set but empty ("") turns the exclusion off; unset keeps the defaults.
    exclude_env = env.get(OBSBOX_SLI_EXCLUDE_ROUTES)
    exclude = (
        frozenset(DEFAULT_SLI_EXCLUDE_ROUTES)
        if exclude_env is None
        else frozenset(r.strip() for r in exclude_env.split(",") if r.strip())
    )
    bad = sorted(r for r in exclude if not r.startswith("/"))
    if bad:
        raise SettingsError(f"{OBSBOX_SLI_EXCLUDE_ROUTES}={exclude_env!r}: routes must start with '/', got {bad}")
    from_env: dict[str, Any] = {
        "tenant_header": _env_str(env, OBSBOX_TENANT_HEADER) or DEFAULT_TENANT_HEADER,
        "tenant_top_n": env_int(env, OBSBOX_TENANT_TOP_N, DEFAULT_TENANT_TOP_N),
        "tenant_admit_after": env_int(env, OBSBOX_TENANT_ADMIT_AFTER, DEFAULT_TENANT_ADMIT_AFTER, minimum=1),
        "api_version_header": _env_str(env, OBSBOX_API_VERSION_HEADER) or DEFAULT_API_VERSION_HEADER,
        "scrub_patterns": patterns,
        "prometheus_enabled": env_bool(env, OBSBOX_PROMETHEUS_ENABLED, True),
        "prometheus_host": _env_str(env, OBSBOX_PROMETHEUS_HOST) or DEFAULT_PROMETHEUS_HOST,
        "prometheus_port": env_int(env, OBSBOX_PROMETHEUS_PORT, DEFAULT_PROMETHEUS_PORT),
        "prometheus_multiproc": env_bool(env, OBSBOX_PROMETHEUS_MULTIPROC, True),
        "shutdown_timeout_s": env_float(env, OBSBOX_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT_S),
        "export_timeout_s": env_float(env, OBSBOX_EXPORT_TIMEOUT, DEFAULT_EXPORT_TIMEOUT_S),
        "max_queue_size": env_int(env, OBSBOX_MAX_QUEUE_SIZE, DEFAULT_MAX_QUEUE_SIZE, minimum=1),
        "log_json": env_bool(env, OBSBOX_LOG_JSON, True),
        "log_level": log_level,
        "auto_instrument": env_bool(env, OBSBOX_INSTRUMENT, True),
        "disabled_instrumentations": frozenset(x.strip() for x in disabled.split(",") if x.strip()),
        "sli_exclude_routes": exclude,
    }
    for key, value in overrides.items():
        if value is not None:
            if key == "scrub_patterns":
                value = tuple(str(p).lower() for p in value)
            if key == "log_level":
                value = str(value).upper()
            if key == "sli_exclude_routes":
                value = frozenset(value)
            from_env[key] = value
    if from_env["prometheus_port"] > 65535:
        raise SettingsError(f"{OBSBOX_PROMETHEUS_PORT}={from_env['prometheus_port']}: not a TCP port")
    return Settings(**from_env)


def apply_otel_defaults(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """Set obsbox's OTEL_* defaults where the user left them unset; returns what was set."""
    applied: dict[str, str] = {}
    for name, value in OTEL_DEFAULTS.items():
        if not env.get(name):
            env[name] = value
            applied[name] = value
    return applied


_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(value: str) -> str:
    """A value safe to use in a file name (tenant ids come from requests)."""
    return _NAME_RE.sub("_", value)[:200]
