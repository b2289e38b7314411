"""systemd unit paths and the readiness probe a host runs, as text (no pyinfra here)."""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit


def unit_path(service: str) -> str:
    """Where obsbox puts a service's unit: /etc/systemd/system, which wins over a Debian
    package's /lib/systemd/system unit of the same name."""
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
