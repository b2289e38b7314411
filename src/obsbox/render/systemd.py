"""systemd unit files for the stack's services, from one small hardened Jinja template."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import lru_cache

import jinja2

from obsbox.render import TEMPLATE_PACKAGE


@dataclass(frozen=True)
class UnitSettings:
    """One long-running service: what to run, as whom, and what it may write."""

    name: str
    description: str
    user: str
    exec_start: tuple[str, ...]
    documentation: str = "https://github.com/obsbox/obsbox"
    read_write_paths: tuple[str, ...] = ()
    # Signal that makes the service re-read its config; empty when it has to restart instead.
    reload_signal: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    # Files of NAME=value lines read by systemd itself (as root) before dropping privileges.
    environment_files: tuple[str, ...] = ()
    # systemd credentials (name, root-only source file): the service reads a secret it cannot
    # open itself from $CREDENTIALS_DIRECTORY.
    credentials: tuple[tuple[str, str], ...] = ()
    working_directory: str = ""
    protect_home: str = "yes"
    full_proc: bool = False
    # /proc's system files (meminfo) without other processes: ProcSubset=all, ProtectProc=invisible.
    system_proc: bool = False
    ip_address_allow: tuple[str, ...] = ()
    # MemoryMax= in MiB (0: no limit); the collector's memory_limiter is derived from it.
    memory_max_mib: int = 0
    # System calls allowed on top of @system-service, for a service that dies without them.
    extra_system_calls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.exec_start:
            raise ValueError(f"unit {self.name}: exec_start is empty")
        if self.protect_home not in ("yes", "read-only", "tmpfs"):
            raise ValueError(f"unit {self.name}: protect_home={self.protect_home!r} is not yes/read-only/tmpfs")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def credential_path(unit: str, name: str) -> str:
    """Where the service of ``unit`` reads a credential its unit loads (LoadCredential=NAME:...):
    systemd's $CREDENTIALS_DIRECTORY for that service."""
    return f"/run/credentials/{unit}.service/{name}"


def _exec_line(argv: tuple[str, ...]) -> str:
    # systemd splits ExecStart like a shell; quoting keeps arguments with spaces intact, and
    # "$" is doubled because systemd would otherwise expand it as a variable.
    return " \\\n    ".join(shlex.quote(arg).replace("$", "$$") for arg in argv)


def render_unit(settings: UnitSettings) -> str:
    """Render the unit file text for one service."""
    template = _environment().get_template("service.j2")
    return template.render(s=settings, exec_start=_exec_line(settings.exec_start))
