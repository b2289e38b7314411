"""systemd unit, (re)start/reload and readiness operations for one component."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from io import StringIO
from urllib.parse import urlsplit

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from obsbox.deploy.facts import UnitState
from obsbox.render.systemd import UnitSettings, render_unit


def unit_path(service: str) -> str:
    # /etc/systemd/system wins over a Debian package's /lib/systemd/system unit of the same name.
    return f"/etc/systemd/system/{service}.service"


def ready_command(
    service: str,
    url: str,
    timeout: int,
    auth_user: str = "",
    auth_password_file: str = "",
) -> str:
    """Shell that polls an HTTP readiness endpoint until it answers 200 or the timeout passes.

    Uses only bash's /dev/tcp and coreutils, so a minimal host needs no curl for it. On timeout
    it prints the last answer, the unit's status and its recent journal, then fails.
    """
    parts = urlsplit(url)
    hostname, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    if parts.scheme == "https":
        return _ready_command_https(service, url, timeout, auth_user, auth_password_file)
    lines = []
    if auth_user:
        # The password is read on the host from the root-only file, never put on a command line.
        lines.append(
            f'auth="Authorization: Basic $(printf "%s:%s" {shlex.quote(auth_user)} '
            f'"$(cat {shlex.quote(auth_password_file)})" | base64 -w0)"'
        )
    else:
        lines.append('auth=""')
    lines += [
        "probe() {",
        f"  exec 3<>/dev/tcp/{hostname}/{port} || return 1",
        f"  printf 'GET {path} HTTP/1.0\\r\\nHost: {hostname}\\r\\n%s\\r\\n\\r\\n' \"$auth\" >&3",
        "  IFS= read -r -t 5 line <&3",
        "  exec 3>&-",
        "  printf '%s' \"${line%$'\\r'}\"",
        "}",
    ]
    poll = ['  status=$(probe 2>/dev/null) || status="connection refused"', '  case "$status" in *" 200"*) exit 0;; esac']
    return _poll_script(service, url, timeout, lines, poll)


def _ready_command_https(service: str, url: str, timeout: int, auth_user: str, auth_password_file: str) -> str:
    """The same poll over TLS with curl. The certificate is not verified: this only asks whether the
    service answers; Prometheus and Grafana verify it (obsbox_tls_ca_file)."""
    auth = ""
    if auth_user:
        # curl reads the credentials from stdin (-K -), never from its command line.
        auth = f'printf \'user = "%s:%s"\\n\' {shlex.quote(auth_user)} "$(cat {shlex.quote(auth_password_file)})" | '
    poll = [
        f"  status=$({auth}curl -ks -o /dev/null -w '%{{http_code}}' --max-time 5 -K - {shlex.quote(url)}"
        f"{'' if auth else ' </dev/null'} 2>/dev/null)",
        '  [ "$status" = 200 ] && exit 0',
    ]
    return _poll_script(service, url, timeout, [], poll)


def _poll_script(service: str, url: str, timeout: int, setup: list[str], poll: list[str]) -> str:
    """`bash -c` running `poll` once a second until it exits 0; on timeout the last answer, the
    unit's status and its recent journal go to stderr and the script fails."""
    lines = [
        *setup,
        "status=none",
        f"for i in $(seq 1 {timeout}); do",
        *poll,
        "  sleep 1",
        "done",
        f'echo "obsbox: {service} did not become ready at {url} within {timeout}s (last answer: $status)" >&2',
        f"systemctl status --no-pager {service} >&2",
        f"journalctl -u {service} -n 40 --no-pager >&2",
        "exit 1",
    ]
    return f"bash -c {shlex.quote(chr(10).join(lines))}"


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
