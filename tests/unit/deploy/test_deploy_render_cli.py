"""`obsbox render` through typer's runner, without the validators (pure apart from tmp files)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from obsbox.cli import app


def test_deploy_render_cli_writes_host_tree(tmp_path: Path) -> None:
    """The command writes configs and units under --out at their host paths."""
    data = tmp_path / "data.yaml"
    data.write_text(
        yaml.safe_dump(
            {
                "obsbox_bind_address": "10.0.0.11",
                "grafana_enabled": False,
                "obsbox_allow_unauthenticated": ["node_exporter", "prometheus", "alertmanager", "loki", "tempo", "otelcol"],
                "alertmanager_allow_no_receivers": True,
            }
        )
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "--inventory-data", str(data), "--out", str(out), "--no-check"])
    assert result.exit_code == 0, result.output
    loki = yaml.safe_load((out / "etc/loki/config.yaml").read_text())
    assert loki["server"]["http_listen_address"] == "10.0.0.11"
    assert (out / "etc/systemd/system/prometheus.service").is_file()
    assert not (out / "etc/grafana").exists()


def test_deploy_render_cli_bad_data_names_file_and_key(tmp_path: Path) -> None:
    """Bad inventory data exits 2 with the file and the key in the message."""
    data = tmp_path / "data.yaml"
    data.write_text("tempo_retention: forever\n")
    result = CliRunner().invoke(app, ["render", "--inventory-data", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"{data}: tempo_*:" in result.output and "tempo retention 'forever'" in result.output


def test_deploy_render_cli_refuses_non_mapping(tmp_path: Path) -> None:
    """A data file that is not a mapping is refused with its path."""
    data = tmp_path / "data.yaml"
    data.write_text("- a\n- b\n")
    result = CliRunner().invoke(app, ["render", "--inventory-data", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "expected a mapping" in result.output
