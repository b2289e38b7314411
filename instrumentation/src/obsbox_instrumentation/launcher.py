"""``obsbox-instrument <command...>``: run any Python program with obsbox configured, no code change.

Like ``opentelemetry-instrument``: the launcher puts a directory holding a ``sitecustomize``
module first on PYTHONPATH and execs the command; every Python interpreter started from it
(a gunicorn master and its workers, a celery worker) calls configure() at start-up. Before the
exec it fixes what must be shared by the whole process tree: ``OBSBOX_SERVICE_INSTANCE_ID`` (one
instance id for all workers and recycles) and the service name given on the command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

from .resource import ensure_instance_id

BOOTSTRAP_DIR = str(Path(__file__).resolve().parent / "_bootstrap")
OBSBOX_LAUNCHED = "OBSBOX_LAUNCHED"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsbox-instrument",
        description="Run a Python program with obsbox traces, metrics and JSON logs configured.",
        epilog="Settings come from OTEL_* and OBSBOX_* environment variables (see the README).",
    )
    parser.add_argument("--service-name", help="service.name (default: OTEL_SERVICE_NAME or the project name)")
    parser.add_argument("command", help="the program to run, e.g. gunicorn or python")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return parser


def prepare_environment(env: MutableMapping[str, str], service_name: str | None) -> None:
    """What the child process tree inherits (pure apart from the mapping it is given)."""
    existing = env.get("PYTHONPATH", "")
    parts = [p for p in existing.split(os.pathsep) if p and p != BOOTSTRAP_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *parts])
    env[OBSBOX_LAUNCHED] = "1"
    if service_name:
        env["OTEL_SERVICE_NAME"] = service_name
    ensure_instance_id(env)
    # opentelemetry-instrument started inside this tree must pick obsbox, not another distro.
    env.setdefault("OTEL_PYTHON_DISTRO", "obsbox")
    env.setdefault("OTEL_PYTHON_CONFIGURATOR", "obsbox")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    executable = shutil.which(ns.command)
    if executable is None:
        parser.error(f"command not found: {ns.command}")
    prepare_environment(os.environ, ns.service_name)
    try:
        os.execv(executable, [ns.command, *ns.args])
    except OSError as exc:
        print(f"obsbox-instrument: cannot run {ns.command}: {exc}", file=sys.stderr)
        return 126
    return 0  # pragma: no cover (execv does not return)


def bootstrap() -> None:
    """Called by the bootstrap sitecustomize in every interpreter of the launched tree."""
    from .setup import configure

    configure()
