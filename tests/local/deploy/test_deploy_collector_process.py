"""Issue 8 items 8 and 12 on obsbox's real collector: the rendered config makes the OTLP receivers
require the bearer token, and what waits for a backend survives a collector restart (file_storage).

Loki's place is taken first by a loopback server answering 503 (the backend is down: the collector
keeps the record queued and retries) and, after the restart, by a real OTLP/HTTP receiver built on
opentelemetry-proto.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from examples.otlp_receiver import OtlpReceiver
from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import settings_from_host_data
from obsbox.deploy.units import ready_command

TOKEN = "token-0123456789abcdef"
BODY = "invoice 42 failed to render"
TIMEOUT_S = 60



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _backend_down() -> Iterator[tuple[str, threading.Event]]:
    """(base URL, event set on the first export attempt) of a server answering every POST with 503."""
    attempted = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            attempted.set()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", attempted
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Collector:
    """The deploy's collector config for this host, with host paths moved under a temporary directory."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary, self.work = binary, work
        self.ports = {name: _free_port() for name in ("grpc", "http", "health", "telemetry", "exporter")}
        (work / "token").write_text(TOKEN + "\n")

    def run(self, loki_url: str) -> subprocess.Popen[bytes]:
        settings = settings_from_host_data(
            {
                "alertmanager_allow_no_receivers": True,
                "otelcol_otlp_bearer_token": TOKEN,
                "otelcol_otlp_grpc_port": self.ports["grpc"],
                "otelcol_otlp_http_port": self.ports["http"],
                "otelcol_health_port": self.ports["health"],
                "otelcol_telemetry_port": self.ports["telemetry"],
                "otelcol_prometheus_exporter_port": self.ports["exporter"],
                "otelcol_loki_otlp_url": loki_url,
                "otelcol_tempo_otlp_endpoint": f"127.0.0.1:{_free_port()}",
            }
        )
        plan = plan_for(settings, "otelcol")
        (text,) = [f.content for g in plan.groups for f in g.files if f.path == "/etc/otelcol/config.yaml"]
        config = yaml.safe_load(text)
        config["extensions"]["file_storage"]["directory"] = str(self.work / "queue")
        config["extensions"]["bearertokenauth"]["filename"] = str(self.work / "token")
        # Hand the record to the queue at once instead of after the batch timeout.
        config["processors"]["batch"]["timeout"] = "100ms"
        path = self.work / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        log = (self.work / "collector.log").open("ab")
        proc = subprocess.Popen([self.binary, f"--config={path}"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        probe = ready_command("otelcol", plan.ready_url, 30)
        ready = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, check=False)
        if ready.returncode != 0:
            proc.kill()
            pytest.fail(ready.stderr + (self.work / "collector.log").read_text())
        return proc

    def post_log(self, token: str | None) -> int:
        record = {"timeUnixNano": "1700000000000000000", "severityText": "ERROR", "body": {"stringValue": BODY}}
        payload = {
            "resourceLogs": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "invoicing-demo"}}]},
                    "scopeLogs": [{"logRecords": [record]}],
                }
            ]
        }
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"http://127.0.0.1:{self.ports['http']}/v1/logs"
        return requests.post(url, json=payload, headers=headers, timeout=10).status_code


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def test_deploy_collector_requires_token_and_keeps_queue_across_restart(
    tmp_path: Path, pinned_tool: Callable[[str], str]
) -> None:
    """Without the token the receiver answers 401; a record accepted while Loki is down reaches Loki after a restart."""
    collector = _Collector(pinned_tool("otelcol"), tmp_path)
    with _backend_down() as (down_url, attempted):
        proc = collector.run(down_url)
        try:
            assert collector.post_log(None) == 401
            assert collector.post_log("wrong-token-0123456789") == 401
            assert collector.post_log(TOKEN) == 200
            assert attempted.wait(TIMEOUT_S), (tmp_path / "collector.log").read_text()
        finally:
            _stop(proc)
    with OtlpReceiver() as loki:
        proc = collector.run(loki.endpoint)
        try:
            arrived = loki.wait_for(lambda: any(r.body == BODY for r in loki.logs()), timeout=TIMEOUT_S)
        finally:
            _stop(proc)
    assert arrived, (tmp_path / "collector.log").read_text()[-3000:]
    assert [r.resource.get("service.name") for r in loki.logs() if r.body == BODY] == ["invoicing-demo"]
