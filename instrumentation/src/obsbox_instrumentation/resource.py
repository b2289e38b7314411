"""The resource: who is emitting (service, version, environment, host, process, instance).

Rules (README "Resource"): explicit ``configure()`` arguments win, then ``OTEL_SERVICE_NAME`` /
``OTEL_RESOURCE_ATTRIBUTES``, then obsbox's defaults. ``service.instance.id`` is generated once per
server start and exported as ``OBSBOX_SERVICE_INSTANCE_ID`` so forked and re-exec'd pre-fork
workers inherit it: upstream regenerates it per process, which turns every worker recycle into a
new Prometheus ``instance`` and a new Loki stream. ``tenant.id`` is never a resource attribute.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import unquote

from .contract import ATTR_TENANT

try:  # Python >= 3.11; older interpreters fall back to the program name
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None  # type: ignore[assignment]
from .settings import OBSBOX_SERVICE_INSTANCE_ID

_log = logging.getLogger(__name__)

SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
SERVICE_INSTANCE_ID = "service.instance.id"
DEPLOYMENT_ENVIRONMENT = "deployment.environment.name"
# The pre-1.27 semconv name; still read so users' existing settings keep working.
DEPLOYMENT_ENVIRONMENT_OLD = "deployment.environment"
UNKNOWN_SERVICE = "unknown_service"


def parse_resource_attributes(raw: str | None) -> dict[str, str]:
    """OTEL_RESOURCE_ATTRIBUTES (``k=v,k2=v2``, values percent-encoded) as a dict."""
    result: dict[str, str] = {}
    if not raw:
        return result
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _log.warning("OTEL_RESOURCE_ATTRIBUTES: ignoring malformed item %r (expected key=value)", item)
            continue
        result[key.strip()] = unquote(value.strip())
    return result


def project_name(cwd: Path, argv0: str) -> str:
    """The project's name: [project].name of ./pyproject.toml, else the program's file stem."""
    pyproject = cwd / "pyproject.toml"
    try:
        if tomllib is None:
            raise OSError("tomllib unavailable")
        with pyproject.open("rb") as fh:
            name = tomllib.load(fh).get("project", {}).get("name")
        if isinstance(name, str) and name:
            return name
    except (OSError, tomllib.TOMLDecodeError):
        pass
    stem = Path(argv0).stem if argv0 else ""
    if stem and stem not in ("-c", "python", "python3", "__main__", "pytest", ""):
        return stem
    return UNKNOWN_SERVICE


def ensure_instance_id(env: MutableMapping[str, str]) -> str:
    """The instance id for this server start; generated once and exported for child processes."""
    existing = env.get(OBSBOX_SERVICE_INSTANCE_ID)
    if existing:
        return existing
    generated = str(uuid.uuid4())
    env[OBSBOX_SERVICE_INSTANCE_ID] = generated
    return generated


def resource_attributes(
    env: Mapping[str, str],
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    instance_id: str,
    default_name: str = UNKNOWN_SERVICE,
    hostname: str | None = None,
    pid: int | None = None,
) -> dict[str, str | int]:
    """Pure: the resource attributes obsbox sets, with the precedence described above."""
    user = parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES"))
    attrs: dict[str, str | int] = {k: v for k, v in user.items() if k != ATTR_TENANT}
    if ATTR_TENANT in user:
        _log.warning("OTEL_RESOURCE_ATTRIBUTES: dropping %s; tenant ids never go on the resource", ATTR_TENANT)
    attrs[SERVICE_NAME] = (
        service_name or env.get("OTEL_SERVICE_NAME") or user.get(SERVICE_NAME) or default_name
    )
    version = service_version or user.get(SERVICE_VERSION)
    if version:
        attrs[SERVICE_VERSION] = version
    env_name = environment or user.get(DEPLOYMENT_ENVIRONMENT) or user.get(DEPLOYMENT_ENVIRONMENT_OLD)
    if env_name:
        attrs[DEPLOYMENT_ENVIRONMENT] = env_name
    # A value the user set wins; otherwise the per-server-start id shared by all workers.
    attrs[SERVICE_INSTANCE_ID] = user.get(SERVICE_INSTANCE_ID) or instance_id
    attrs["host.name"] = hostname if hostname is not None else socket.gethostname()
    attrs["process.pid"] = pid if pid is not None else os.getpid()
    attrs["process.runtime.name"] = sys.implementation.name
    attrs["process.runtime.version"] = ".".join(str(p) for p in sys.version_info[:3])
    attrs["process.executable.name"] = Path(sys.executable).name
    return attrs
