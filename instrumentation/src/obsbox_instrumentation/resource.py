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
import re
import socket
import sys
import uuid
from collections.abc import Mapping, MutableMapping, Sequence
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


# Programs that serve or run someone else's code: their name says nothing about the service.
SERVER_PROGRAMS = frozenset((
    "gunicorn", "uvicorn", "hypercorn", "daphne", "granian", "uwsgi", "waitress-serve", "celery",
    "rq", "dramatiq", "huey_consumer", "flask", "django-admin", "manage", "opentelemetry-instrument",
    "obsbox-instrument", "python", "python3", "-c", "-m", "__main__", "pytest", "ipython",
))
# Trailing module names that say where the app object lives, not what the service is.
_GENERIC_MODULES = frozenset(("app", "application", "main", "wsgi", "asgi", "server", "api", "web", "__main__"))
_APP_SPEC = re.compile(r"^([A-Za-z_][\w.]*)(?::[A-Za-z_][\w.]*(?:\(.*\))?)?$")
_OPTIONS_WITH_VALUES = frozenset(("-c", "--config", "-b", "--bind", "-k", "--worker-class", "--chdir", "--pythonpath"))


def app_module(argv: Sequence[str]) -> str | None:
    """The app module a server command line names: ``pkg.mod`` of ``gunicorn ... pkg.mod:app``,
    of ``uvicorn pkg.mod:app`` or of ``celery -A pkg.mod worker``; None when there is none."""
    args = list(argv[1:])
    for flag in ("-A", "--app"):
        if flag in args[:-1]:
            match = _APP_SPEC.match(args[args.index(flag) + 1])
            if match:
                return match.group(1)
    candidates = []
    for index, arg in enumerate(args):
        if arg.startswith("-") or (index and args[index - 1] in _OPTIONS_WITH_VALUES):
            continue
        # "pkg.mod:app", or gunicorn's "pkg.wsgi" (application implied); a bare word may be an
        # option's value ("--log-level info"), so it does not count.
        if ":" in arg or "." in arg:
            match = _APP_SPEC.match(arg)
            if match:
                candidates.append(match.group(1))
    return candidates[-1] if candidates else None


def service_name_from_module(module: str) -> str | None:
    """``examples.billing.app`` -> ``billing``: the innermost package that is not a generic name."""
    parts = [p for p in module.split(".") if p and p not in _GENERIC_MODULES]
    return parts[-1] if parts else None


def default_service_name(cwd: Path, argv: Sequence[str]) -> tuple[str, str]:
    """(name, where it came from) when neither configure() nor OTEL_* names the service.

    In order: ``[project].name`` of ./pyproject.toml; the program's name unless it is a server
    or launcher (``gunicorn``, ``uvicorn``, ``celery``, ``python``, ...); the app module the
    server was told to load; the working directory's name.
    """
    pyproject = cwd / "pyproject.toml"
    try:
        if tomllib is None:
            raise OSError("tomllib unavailable")
        with pyproject.open("rb") as fh:
            name = tomllib.load(fh).get("project", {}).get("name")
        if isinstance(name, str) and name:
            return name, str(pyproject)
    except (OSError, tomllib.TOMLDecodeError):
        pass
    argv0 = argv[0] if argv else ""
    stem = Path(argv0).stem if argv0 else ""
    if stem and stem not in SERVER_PROGRAMS and not stem.startswith("python"):
        return stem, f"the program name {argv0!r}"
    module = app_module(argv)
    if module:
        name = service_name_from_module(module)
        if name:
            return name, f"the app module {module!r}"
    if cwd.name:
        return cwd.name, f"the working directory {str(cwd)!r}"
    return UNKNOWN_SERVICE, "nothing"


def project_name(cwd: Path, argv0: str) -> str:
    """The default service name for a program started as ``argv0`` in ``cwd``."""
    return default_service_name(cwd, [argv0])[0]


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
