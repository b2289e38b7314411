"""Run a pyinfra deploy against a throwaway host with the pyinfra CLI, as a user would, and count
what it changed (the CLI's own results table), for the tests, the demo and the benchmark."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from obsbox.hosts.host import Host

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class ConvergeResult:
    returncode: int
    seconds: float
    changed: int
    unchanged: int
    errors: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.errors == 0


def pyinfra_argv(host: Host, deploy_file: Path, data: Mapping[str, object]) -> list[str]:
    argv = [
        str(Path(sys.executable).parent / "pyinfra"),
        host.address,
        str(deploy_file),
        "-y",
        "--ssh-user", "root",
        "--ssh-key", str(host.ssh_key),
        # Every throwaway host is new to us and shares the image's host keys: nothing to pin.
        "--data", "ssh_known_hosts_file=/dev/null",
        "--data", "ssh_strict_host_key_checking=no",
    ]  # fmt: skip
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value)
        argv += ["--data", f"{key}={text}"]
    return argv


def parse_totals(output: str) -> tuple[int, int, int]:
    """(changed, unchanged, errors) from the "Grand total" row of pyinfra's results table."""
    for line in reversed(_ANSI.sub("", output).splitlines()):
        if "Grand total" in line:
            cells = line.split("Grand total", 1)[1].split()
            if len(cells) != 4:
                break
            _hosts, success, error, no_change = (0 if c == "-" else int(c) for c in cells)
            return success, no_change, error
    raise ValueError("pyinfra printed no results table (did it fail before running operations?)")


def converge(
    host: Host, deploy_file: Path, data: Mapping[str, object] | None = None, cwd: Path | None = None, timeout: float = 900
) -> ConvergeResult:
    """Run `pyinfra ADDR deploy_file -y` with `data` as --data overrides; never raises on failure."""
    start = time.monotonic()
    proc = subprocess.run(
        pyinfra_argv(host, deploy_file, data or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    try:
        changed, unchanged, errors = parse_totals(output)
    except ValueError:
        changed, unchanged, errors = 0, 0, 1
    return ConvergeResult(proc.returncode, seconds, changed, unchanged, errors, output)
