"""systemd unit, (re)start/reload and readiness operations for one component."""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from obsbox.deploy.operations.facts import UnitState
from obsbox.deploy.units import ready_command, unit_path
from obsbox.render.systemd import UnitSettings, render_unit


def unit_and_service(
    unit: UnitSettings,
    restart_on: Sequence[OperationMeta],
    reload_on: Sequence[OperationMeta],
    ready_url: str,
    ready_timeout: int,
    auth_user: str = "",
    auth_password_file: str = "",
) -> None:
    """Upload the unit, then start/enable, restart or reload only what changed, then wait until ready.

    A restart or reload and its readiness wait are one operation run host by host (pyinfra's
    ``_serial``): when several hosts run the same component (the HA layout's Prometheus
    replicas, Alertmanager peers, gateway collectors), a change rolls through them one at a
    time, each back and ready before the next goes down.
    """
    ready = ready_command(unit.name, ready_url, ready_timeout, auth_user, auth_password_file)
    unit_op = files.put(
        name=f"Upload {unit_path(unit.name)}",
        src=StringIO(render_unit(unit)),
        dest=unit_path(unit.name),
        user="root",
        group="root",
        mode="0644",
    )
    server.shell(name="Reload systemd units", commands=["systemctl daemon-reload"], _if=unit_op.did_change)
    restart_ops = [unit_op, *restart_on]
    server.shell(
        name=f"Restart {unit.name}, then wait until it is ready at {ready_url}",
        commands=[f"systemctl restart {unit.name}.service", ready],
        _if=any_changed(*restart_ops),
        _serial=True,
    )
    if reload_on:
        if unit.reload_signal:
            reload_command = f"systemctl try-reload-or-restart {unit.name}.service"
        else:
            # No live reload in this service: a new config needs a restart.
            reload_command = f"systemctl try-restart {unit.name}.service"
        server.shell(
            name=f"Reload {unit.name} for its new config, then wait until it is ready",
            commands=[reload_command, ready],
            _if=lambda: any_changed(*reload_on)() and not any_changed(*restart_ops)(),
            _serial=True,
        )
    active, enabled = host.get_fact(UnitState, service=f"{unit.name}.service")
    start_ops = []
    if not enabled:
        start_ops.append(server.shell(name=f"Enable {unit.name}", commands=[f"systemctl enable {unit.name}.service"]))
    if not active:
        start_ops.append(server.shell(name=f"Start {unit.name}", commands=[f"systemctl start {unit.name}.service"]))
    server.shell(
        name=f"Wait until {unit.name} is ready at {ready_url}",
        commands=[ready],
        _if=any_changed(*start_ops),
    )
