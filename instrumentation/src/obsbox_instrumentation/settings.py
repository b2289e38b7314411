"""obsbox's own settings (``OBSBOX_*``), resolved once from arguments and the environment.

Precedence, highest first: an explicit ``configure()`` argument, the ``OBSBOX_*`` variable, the
default here. Standard ``OTEL_*`` variables are read where OpenTelemetry defines them (exporter
endpoints, sampler, resource); see :func:`otel_defaults` for the few OTEL_* defaults obsbox changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .contract import DEFAULT_TENANT_TOP_N, SLI_EXCLUDED_ROUTES
from .envvars import SettingsError, env_bool, env_float, env_int, env_str
from .exporters import check_exporter_env

__all__ = ["Settings", "SettingsError", "apply_otel_defaults", "env_bool", "env_float", "env_int", "resolve_settings"]

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
def resolve_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Merge explicit arguments (non-None wins) over OBSBOX_* variables over defaults."""
    check_exporter_env(env)
    patterns_env = env_str(env, OBSBOX_SCRUB_PATTERNS)
    patterns = (
        tuple(p.strip().lower() for p in patterns_env.split(",") if p.strip())
        if patterns_env is not None
        else DEFAULT_SCRUB_PATTERNS
    )
    log_level = (env_str(env, OBSBOX_LOG_LEVEL) or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise SettingsError(f"{OBSBOX_LOG_LEVEL}={log_level!r}: expected one of {', '.join(_LOG_LEVELS)}")
    disabled = env_str(env, OBSBOX_DISABLED_INSTRUMENTATIONS) or ""
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
        "tenant_header": env_str(env, OBSBOX_TENANT_HEADER) or DEFAULT_TENANT_HEADER,
        "tenant_top_n": env_int(env, OBSBOX_TENANT_TOP_N, DEFAULT_TENANT_TOP_N),
        "tenant_admit_after": env_int(env, OBSBOX_TENANT_ADMIT_AFTER, DEFAULT_TENANT_ADMIT_AFTER, minimum=1),
        "api_version_header": env_str(env, OBSBOX_API_VERSION_HEADER) or DEFAULT_API_VERSION_HEADER,
        "scrub_patterns": patterns,
        "prometheus_enabled": env_bool(env, OBSBOX_PROMETHEUS_ENABLED, True),
        "prometheus_host": env_str(env, OBSBOX_PROMETHEUS_HOST) or DEFAULT_PROMETHEUS_HOST,
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
