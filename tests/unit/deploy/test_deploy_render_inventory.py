"""`obsbox render --inventory`: the pyinfra inventory files the README tells users to copy, read
with their group_data as pyinfra reads them, and the place pyinfra must be run from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from obsbox.cli import app

ROOT = Path(__file__).resolve().parents[3]
INVENTORIES = sorted((ROOT / "deploy" / "inventories").glob("*.py"))


def _copy_deploy_layout(tmp_path: Path, group_all: str) -> Path:
    """A user's copy of deploy/: inventories/ plus group_data/all.py with their own values."""
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy" / "inventories", deploy / "inventories")
    (deploy / "group_data").mkdir()
    (deploy / "group_data" / "all.py").write_text(group_all)
    return deploy


def test_render_reads_a_copied_inventory_with_its_group_data(tmp_path: Path) -> None:
    """A copied all_in_one.py renders its host's data, with group_data/all.py applied."""
    deploy = _copy_deploy_layout(tmp_path, 'prometheus_retention_time = "45d"\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["render", "--inventory", str(deploy / "inventories" / "all_in_one.py"), "--out", str(out), "--no-check"]
    )
    assert result.exit_code == 0, result.output
    unit = (out / "etc/systemd/system/prometheus.service").read_text()
    assert "--storage.tsdb.retention.time=45d" in unit
    am = yaml.safe_load((out / "etc/alertmanager/alertmanager.yml").read_text())
    assert "https://alerts.example.com/obsbox/page" in yaml.safe_dump(am)  # the host's own data
    assert str(deploy / "group_data") in result.stdout


def test_render_picks_one_host_of_a_multi_host_inventory(tmp_path: Path) -> None:
    """multi_host.py needs --host; with it, only that host's components are rendered."""
    inventory = ROOT / "deploy" / "inventories" / "multi_host.py"
    result = CliRunner().invoke(app, ["render", "--inventory", str(inventory), "--out", str(tmp_path / "a"), "--no-check"])
    assert result.exit_code == 2
    assert "choose one with --host" in result.stderr and "10.0.0.11" in result.stderr
    out = tmp_path / "b"
    result = CliRunner().invoke(
        app, ["render", "--inventory", str(inventory), "--host", "10.0.0.13", "--out", str(out), "--no-check"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "etc/systemd/system/grafana.service").is_file()
    assert not (out / "etc/systemd/system/prometheus.service").exists()


def test_render_refuses_a_missing_inventory_in_one_line(tmp_path: Path) -> None:
    """A missing inventory file exits 2 with one line naming it."""
    result = CliRunner().invoke(app, ["render", "--inventory", str(tmp_path / "nope.py"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"obsbox render: {tmp_path / 'nope.py'}: no such inventory file"]


@pytest.mark.parametrize("path", [*INVENTORIES, ROOT / "deploy" / "deploy.py"], ids=lambda p: p.name)
def test_inventories_say_to_run_pyinfra_where_the_readme_does(path: Path) -> None:
    """Each inventory's and deploy.py's instructions run pyinfra from deploy/, as the README does."""
    readme = (ROOT / "README.md").read_text()
    assert "cd deploy   # so pyinfra finds group_data/ (pinned versions)" in readme
    text = path.read_text()
    commands = re.findall(r"pyinfra\s+(\S+\.py)\s+(\S+\.py)", text)
    assert commands, path
    for inventory, deploy_file in commands:
        assert inventory.startswith("inventories/") and deploy_file == "deploy.py", (path, inventory, deploy_file)
    assert "cd deploy" in text


def test_pyinfra_run_from_deploy_reads_group_data() -> None:
    """pyinfra started as the README says (in deploy/) sees group_data/all.py's pinned versions."""
    pyinfra = Path(sys.executable).with_name("pyinfra")
    proc = subprocess.run(
        [str(pyinfra), "inventories/all_in_one.py", "debug-inventory"],
        cwd=ROOT / "deploy",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pinned = re.search(r'^prometheus_version = "([^"]+)"', (ROOT / "deploy/group_data/all.py").read_text(), re.M)
    assert pinned is not None
    assert f'"prometheus_version": "{pinned.group(1)}"' in proc.stdout + proc.stderr  # pyinfra prints the data on stderr


def test_render_names_the_line_of_a_yaml_error_in_one_line(tmp_path: Path) -> None:
    """Broken --inventory-data YAML at line 6 is one stderr line naming line 6, exit 2."""
    data = tmp_path / "host.yaml"
    data.write_text("a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nobsbox_ip_address_allow: [\n")
    result = CliRunner().invoke(app, ["render", "--inventory-data", str(data), "--out", str(tmp_path / "o"), "--no-check"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"obsbox render: {data}:6: not valid YAML"), lines
