"""Issue 8 item 8 on real processes: the rendered web configs make Debian's Prometheus serve TLS with
basic auth and node_exporter refuse scrapes without the password; the deploy's readiness probe gets in."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import settings_from_host_data
from obsbox.deploy.units import ready_command

ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])



@contextmanager
def _running(argv: list[str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _web_config(tmp_path: Path, component: str, **data: object) -> tuple[Path, str, Path]:
    """(web config file, readiness probe command, password file) rendered by the deploy for component."""
    settings = settings_from_host_data({**ROUTED, **data})
    plan = plan_for(settings, component)
    files = {f.path: f.content for g in plan.groups for f in g.files}
    web = tmp_path / f"{component}-web.yml"
    web.write_text(files[f"/etc/{component}/web-config.yml"])
    password = tmp_path / f"{component}-password"
    password.write_text(files[f"/etc/{component}/secrets/basic_auth_password"])
    probe = ready_command(component, plan.ready_url, 30, plan.auth_user, str(password))
    return web, probe, password


def test_deploy_prometheus_serves_tls_with_basic_auth(
    tmp_path: Path, certificate: tuple[Path, Path], pinned_tool: Callable[[str], str]
) -> None:
    """Prometheus with the rendered TLS web config answers https only, asks for the password, and the probe passes."""
    cert, key = certificate
    port = _free_port()
    web, probe, _password = _web_config(
        tmp_path,
        "prometheus",
        prometheus_port=port,
        prometheus_basic_auth_password="s3cret",
        prometheus_tls_cert_file=str(cert),
        prometheus_tls_key_file=str(key),
    )
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    argv = [
        pinned_tool("prometheus"),
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--web.config.file={web}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
    ]
    with _running(argv, tmp_path / "prometheus.log"):
        ready = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=False)
        assert ready.returncode == 0, ready.stderr + (tmp_path / "prometheus.log").read_text()
        url = f"https://127.0.0.1:{port}/-/ready"
        assert requests.get(url, verify=str(cert), timeout=5).status_code == 401
        assert requests.get(url, verify=str(cert), auth=("obsbox", "s3cret"), timeout=5).status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=5).status_code == 400


def test_deploy_node_exporter_refuses_scrape_without_password(tmp_path: Path, pinned_tool: Callable[[str], str]) -> None:
    """node_exporter with the rendered web config answers 401 without credentials and 200 with them."""
    port = _free_port()
    web, probe, _password = _web_config(
        tmp_path, "node_exporter", node_exporter_port=port, node_exporter_basic_auth_password="n0de"
    )
    argv = [pinned_tool("node_exporter"), f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}"]
    with _running(argv, tmp_path / "node.log"):
        ready = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=False)
        assert ready.returncode == 0, ready.stderr + (tmp_path / "node.log").read_text()
        url = f"http://127.0.0.1:{port}/metrics"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, auth=("obsbox", "n0de"), timeout=5).status_code == 200
