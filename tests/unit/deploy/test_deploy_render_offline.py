"""`obsbox render` is offline: it runs in a process that never imports pyinfra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# Runs `obsbox render` in this fresh interpreter, then prints the pyinfra modules it loaded.
_SCRIPT = """
import json, sys
from obsbox.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit as exit:
    if exit.code:
        raise
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pyinfra", "pyinfra_cli"))))
"""


def _render(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "render", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_render_of_an_inventory_never_imports_pyinfra(tmp_path: Path) -> None:
    """Rendering the all-in-one inventory's host, with its group data, leaves pyinfra out of sys.modules."""
    out = tmp_path / "out"
    loaded = _render("--inventory", str(REPO / "deploy/inventories/all_in_one.py"), "--out", str(out), "--no-check")
    assert loaded == []
    assert (out / "etc/prometheus/prometheus.yml").is_file()
    assert (out / "etc/systemd/system/prometheus.service").is_file()


def test_render_with_local_checks_never_imports_pyinfra(tmp_path: Path) -> None:
    """The local checks (promtool, amtool, systemd-analyze where present) run without pyinfra too."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"alertmanager_allow_no_receivers": True, "grafana_enabled": False}))
    out = tmp_path / "out"
    assert _render("--inventory-data", str(data), "--out", str(out), "--check") == []
    assert (out / "etc/alertmanager/alertmanager.yml").is_file()
