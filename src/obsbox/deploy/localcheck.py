"""Run the upstream validators available on this machine over a rendered tree (`obsbox render`).

The tree mirrors host paths under a root directory. Absolute paths inside configs are re-rooted
into the tree for the check, so Prometheus is checked together with the rule files it will load.
Each validator is obsbox's own build at the deploy's pinned version when `obsbox binaries build`
made it (promtool 3.x, amtool, otelcol-obsbox), else the tool on PATH; `CheckResult.tool` says
which ran. Validators found nowhere are reported as skipped with the reason, never as passed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from obsbox.binaries import locate
from obsbox.deploy.rendered import host_plans
from obsbox.deploy.settings import StackSettings
from obsbox.deploy.units import unit_path

# systemd-analyze security's "overall exposure" target for every unit.
MAX_EXPOSURE = 3.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    target: str
    ok: bool
    output: str
    skipped: str = ""
    # The executable that ran the check ("" when skipped).
    tool: str = ""


def _run(name: str, target: Path, argv: list[str]) -> CheckResult:
    tool = locate.tool(argv[0])
    if tool is None:
        return CheckResult(name, str(target), False, "", skipped=f"{argv[0]} is not installed on this machine")
    proc = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, check=False, timeout=120)
    return CheckResult(name, str(target), proc.returncode == 0, (proc.stdout + proc.stderr).strip(), tool=tool)


def unit_exposure(unit_file: Path) -> tuple[float | None, str]:
    """systemd-analyze security --offline exposure of a unit file (None when it cannot run)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return None, "systemd-analyze is not installed on this machine"
    proc = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(unit_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout + proc.stderr)
    if match is None:
        return None, (proc.stdout + proc.stderr).strip()
    return float(match.group(1)), proc.stdout


def _rerooted(root: Path, host_path: str, prefixes: tuple[str, ...]) -> Path:
    """A check copy of a rendered file whose absolute paths under prefixes point into root."""
    source = root / host_path.lstrip("/")
    text = source.read_text()
    for prefix in prefixes:
        text = text.replace(prefix, f"{root}{prefix}")
    copy = source.with_name(f".check-{source.name}")
    copy.write_text(text)
    return copy


def check_tree(root: Path, settings: StackSettings) -> list[CheckResult]:
    """Validate every rendered file under root that a local validator exists for."""
    results: list[CheckResult] = []
    for plan in host_plans(settings):
        for group in plan.groups:
            paths = [root / f.path.lstrip("/") for f in group.files]
            if not paths:
                continue
            if group.check == "promtool check rules":
                results.append(_run("promtool check rules", paths[0].parent, ["promtool", "check", "rules", *map(str, paths)]))
            elif group.check == "promtool check web-config":
                results.append(_run("promtool check web-config", paths[0], ["promtool", "check", "web-config", str(paths[0])]))
            elif group.check == "promtool check config":
                copy = _rerooted(root, group.files[0].path, ("/etc/prometheus/",))
                try:
                    results.append(_run("promtool check config", paths[0], ["promtool", "check", "config", str(copy)]))
                finally:
                    copy.unlink()
            elif group.check == "amtool check-config":
                results.append(_run("amtool check-config", paths[0], ["amtool", "check-config", str(paths[0])]))
            elif group.check == "loki -verify-config":
                results.append(_run(group.check, paths[0], ["loki", "-verify-config", f"-config.file={paths[0]}"]))
            elif group.check == "tempo -config.verify":
                results.append(_run(group.check, paths[0], ["tempo", "-config.verify", f"-config.file={paths[0]}"]))
            elif group.check == "otelcol validate":
                results.append(_run(group.check, paths[0], ["otelcol", "validate", f"--config={paths[0]}"]))
        unit_file = root / unit_path(plan.unit.name).lstrip("/")
        exposure, output = unit_exposure(unit_file)
        if exposure is None:
            results.append(CheckResult("systemd-analyze security", str(unit_file), False, "", skipped=output))
        else:
            results.append(
                CheckResult(
                    "systemd-analyze security",
                    str(unit_file),
                    exposure <= MAX_EXPOSURE,
                    f"exposure {exposure} (target <= {MAX_EXPOSURE})",
                )
            )
    return results
