"""Exporter metric names the dashboards read exist in the real exporters (Debian's builds).

The contract accepts any name with an exporter's prefix, so a typo such as node_load_1 would
pass it; scraping real node_exporter, Prometheus and Alertmanager processes catches that for the
exporters this machine has. (The collector, Loki and Tempo have no package here; their names
are checked only against the contract's prefixes.)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from dashboards import build_all
from dashboards._queries import interpolate, queries
from obsbox.contract_check import metric_names

READY_TIMEOUT_S = 30.0
BINARIES = {"node_": "node_exporter", "prometheus_": "prometheus", "alertmanager_": "alertmanager"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dashboard_names(prefix: str) -> set[str]:
    names: set[str] = set()
    for model in build_all().values():
        for query in queries(model):
            if query.datasource == "prometheus":
                names |= {n for n in metric_names(interpolate(query.expr, model)) if n.startswith(prefix)}
    return names


def _exposed_names(url: str) -> set[str]:
    text = requests.get(url, timeout=5).text
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


@pytest.fixture(scope="module")
def exporters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """node_exporter, Alertmanager and a Prometheus with a rule group and that Alertmanager; prefix -> /metrics URL."""
    missing = [b for b in BINARIES.values() if shutil.which(b) is None]
    if missing:
        pytest.skip(f"not installed: {missing}")
    work = tmp_path_factory.mktemp("exporters")
    ports = {prefix: _free_port() for prefix in BINARIES}
    (work / "am.yml").write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    (work / "rules.yml").write_text('groups:\n  - name: g\n    rules:\n      - record: "x:up:sum"\n        expr: sum(up)\n')
    (work / "prometheus.yml").write_text(
        "global: {evaluation_interval: 1m}\n"
        f"rule_files: [{work / 'rules.yml'}]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{ports['alertmanager_']}']}}]}}]}}\n"
    )
    commands = {
        "node_": [BINARIES["node_"], f"--web.listen-address=127.0.0.1:{ports['node_']}"],
        "alertmanager_": [
            BINARIES["alertmanager_"],
            f"--config.file={work / 'am.yml'}",
            f"--storage.path={work / 'am'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager_']}",
            "--cluster.listen-address=",
        ],
        "prometheus_": [
            BINARIES["prometheus_"],
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'prom'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus_']}",
        ],
    }
    processes = []
    try:
        for prefix, command in commands.items():
            with open(work / f"{prefix}log", "wb") as log:
                processes.append(subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        yield {prefix: f"http://127.0.0.1:{port}/metrics" for prefix, port in ports.items()}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize("prefix", sorted(BINARIES))
def test_exporter_names_used_by_dashboards_exist(prefix: str, exporters: dict[str, str]) -> None:
    """Every name with this exporter's prefix that a dashboard reads appears on the real exporter's /metrics."""
    wanted = _dashboard_names(prefix)
    assert wanted, f"no dashboard reads {prefix}* (the test would check nothing)"
    # Some series appear only once the exporter has loaded its config; poll until all show or time runs out.
    deadline = time.monotonic() + READY_TIMEOUT_S
    exposed: set[str] = set()
    while time.monotonic() < deadline:
        try:
            exposed = _exposed_names(exporters[prefix])
        except requests.RequestException:
            exposed = set()
        if wanted <= exposed:
            break
        time.sleep(0.1)
    assert wanted <= exposed, f"not exposed by {BINARIES[prefix]}: {sorted(wanted - exposed)}"


