"""Issue 8 item 11: a service scraped directly and also pushing OTLP through the collector is counted once.

The all-in-one deploy's prometheus.yml runs on Debian's real Prometheus. Two loopback servers stand in
for the demo service's /metrics and for the collector's Prometheus exporter, which re-exposes what
services push over OTLP (job = service.name, kept by honor_labels): the demo service through both
paths, a worker only over OTLP.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import settings_from_host_data

SERVICE = "invoicing-demo"
METRIC = "http_server_request_duration_seconds_count"
SERVICE_METRICS = f'{METRIC}{{http_route="/invoices"}} 10\n'
COLLECTOR_METRICS = (
    f'{METRIC}{{job="{SERVICE}",instance="a1b2",http_route="/invoices"}} 10\n'
    f'{METRIC}{{job="report-worker",instance="c3d4",http_route="/reports"}} 3\n'
)
SCRAPES_TO_WAIT = 3
TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Metrics:
    """A loopback /metrics server that signals once it has been scraped SCRAPES_TO_WAIT times."""

    def __init__(self, body: str) -> None:
        self.scraped = threading.Event()
        count = [0]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                count[0] += 1
                if count[0] >= SCRAPES_TO_WAIT:
                    outer.scraped.set()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def servers() -> Iterator[tuple[_Metrics, _Metrics]]:
    service, collector = _Metrics(SERVICE_METRICS), _Metrics(COLLECTOR_METRICS)
    try:
        yield service, collector
    finally:
        service.close()
        collector.close()


def test_deploy_all_in_one_counts_each_service_once(tmp_path: Path, servers: tuple[_Metrics, _Metrics]) -> None:
    """With the all-in-one config Prometheus holds one series per service: the direct scrape, not the OTLP copy."""
    assert shutil.which("prometheus"), "prometheus is missing: make setup builds the pinned release"
    service, collector = servers
    port = _free_port()
    settings = settings_from_host_data(
        {
            "alertmanager_allow_no_receivers": True,
            "prometheus_port": port,
            "prometheus_scrape_interval": "1s",
            "otelcol_prometheus_exporter_port": collector.port,
            "prometheus_service_targets": {SERVICE: [f"127.0.0.1:{service.port}"]},
        }
    )
    plan = plan_for(settings, "prometheus")
    (config_text,) = [f.content for g in plan.groups for f in g.files if f.path.endswith("prometheus.yml")]
    config = yaml.safe_load(config_text)
    # Only the two paths under test; the stack's other components do not run here.
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in (SERVICE, "otelcol-otlp-metrics")]
    config.pop("rule_files", None)
    config.pop("alerting", None)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert service.scraped.wait(TIMEOUT_S) and collector.scraped.wait(TIMEOUT_S), (tmp_path / "prometheus.log").read_text()
        answer = requests.get(
            f"http://127.0.0.1:{port}/api/v1/query", params={"query": f"count by (job) ({METRIC})"}, timeout=10
        ).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    counts = {r["metric"]["job"]: int(r["value"][1]) for r in answer["data"]["result"]}
    assert counts == {SERVICE: 1, "report-worker": 1}
