"""Facts obsbox needs beyond pyinfra's own."""

from __future__ import annotations

import shlex

import yaml
from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.facts.files import FileContents


class UnitState(FactBase[tuple[bool, bool]]):
    """(active, enabled) of a systemd unit; (False, False) when systemd cannot be asked.

    pyinfra's SystemdStatus fails the host when systemctl cannot reach systemd (a dry run from
    a container without systemd as PID 1); this one answers "not running", so the plan shows the
    start and enable a real host would get.
    """

    def command(self, service: str) -> str:  # type: ignore[override]
        unit = shlex.quote(service)
        return (
            f"echo active=$(systemctl is-active {unit} 2>/dev/null || true); "
            f"echo enabled=$(systemctl is-enabled {unit} 2>/dev/null || true)"
        )

    def process(self, output: list[str]) -> tuple[bool, bool]:  # type: ignore[override]
        values = dict(line.split("=", 1) for line in output if "=" in line)
        return values.get("active", "").strip() == "active", values.get("enabled", "").strip() == "enabled"


def existing_hash(web_config_path: str, username: str) -> str:
    """The hash for username in the web config already on the host, or "" (plan-time fact)."""
    lines = host.get_fact(FileContents, path=web_config_path)
    if not lines:
        return ""
    try:
        data = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError:
        return ""
    users = data.get("basic_auth_users") if isinstance(data, dict) else None
    value = users.get(username, "") if isinstance(users, dict) else ""
    return value if isinstance(value, str) else ""
