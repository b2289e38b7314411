"""Fixtures for the instrumentation's real-thing tests: OTLP receivers, the demo service under
gunicorn, its payments dependency, Redis and Prometheus, all on loopback free ports."""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import ManagedProcess, demo_env, free_port, gunicorn_argv, redis_argv

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
# Short export intervals so tests see signals within seconds, not the 60 s default.
FAST_EXPORT = {
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_BLRP_SCHEDULE_DELAY": "200",
    "OTEL_METRIC_EXPORT_INTERVAL": "1000",
}


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def payments() -> Iterator[PaymentsServer]:
    server = PaymentsServer().start()
    try:
        yield server
    finally:
        server.stop()


class Demo:
    """One running demo service (gunicorn master + workers) and where to reach it."""

    def __init__(self, process: ManagedProcess, port: int, metrics_port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.metrics_port = metrics_port

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
            return str(resp.read().decode())


@pytest.fixture(scope="module")
def start_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Demo]]:
    """start_demo(otlp_endpoint, workers=.., max_requests=.., **env) -> a ready Demo; stopped at teardown."""
    tmp_path = tmp_path_factory.mktemp("demo")
    started: list[ManagedProcess] = []

    def start(
        otlp_endpoint: str,
        *,
        workers: int = 2,
        max_requests: int = 0,
        jitter: int = 0,
        payments_url: str = "http://127.0.0.1:9",
        launcher: tuple[str, ...] = (),
        **env: str,
    ) -> Demo:
        port, metrics_port = free_port(), free_port()
        run_dir = tmp_path / f"demo-{port}"
        run_dir.mkdir()
        full_env = demo_env(
            OTEL_SERVICE_NAME="invoicing-demo",
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_endpoint,
            OBSBOX_PROMETHEUS_PORT=str(metrics_port),
            OBSBOX_DEMO_FAULTS_FILE=str(run_dir / "faults.json"),
            OBSBOX_DEMO_PAYMENTS_URL=payments_url,
            **FAST_EXPORT,
        )
        full_env.update(env)
        proc = ManagedProcess(
            f"demo:{port}",
            gunicorn_argv(port, workers, max_requests, jitter, launcher=launcher),
            full_env,
            run_dir / "demo.log",
        ).start()
        started.append(proc)
        demo = Demo(proc, port, metrics_port)
        proc.wait_http(demo.url + "/healthz", timeout=60)
        proc.wait_http(demo.metrics_url, timeout=30)
        return demo

    try:
        yield start
    finally:
        for p in started:
            p.stop()


@pytest.fixture(scope="module")
def start_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ManagedProcess]]:
    """start_worker(otlp_endpoint, redis_url, *args, **env) -> the report worker process; stopped at teardown."""
    tmp_path = tmp_path_factory.mktemp("worker")
    started: list[ManagedProcess] = []

    def start(otlp_endpoint: str, redis_url: str, *args: str, **env: str) -> ManagedProcess:
        full_env = demo_env(
            OTEL_SERVICE_NAME="invoicing-demo",
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_endpoint,
            OBSBOX_PROMETHEUS_PORT=str(free_port()),
            OBSBOX_DEMO_REDIS_URL=redis_url,
            **FAST_EXPORT,
        )
        full_env.update(env)
        argv = [sys.executable, "-m", "examples.demo_service.worker", *args]
        proc = ManagedProcess(
            f"worker-{len(started)}", argv, full_env, tmp_path / f"worker-{len(started)}.log"
        )
        started.append(proc.start())
        return proc

    try:
        yield start
    finally:
        for p in started:
            p.stop()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed on this machine (scripts/setup.sh installs it)")
    tmp_path = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = ManagedProcess("redis", redis_argv(port, tmp_path), demo_env(), tmp_path / "redis.log").start()
    try:
        deadline = time.monotonic() + 20
        import redis

        client = redis.Redis(port=port, socket_connect_timeout=1)
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or not proc.alive():
                    raise RuntimeError(f"redis-server did not start:\n{proc.output()}") from None
                time.sleep(0.05)  # readiness poll interval
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.stop()


class Prometheus:
    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def series(self, match: str, start: float) -> list[dict[str, str]]:
        q = urllib.parse.urlencode({"match[]": match, "start": f"{start:.3f}"})
        with urllib.request.urlopen(f"{self.url}/api/v1/series?{q}", timeout=10) as resp:
            body = json.load(resp)
        data: list[dict[str, str]] = body["data"]
        return data


@pytest.fixture(scope="module")
def start_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], Prometheus]]:
    """start_prometheus(job, target host:port) -> Prometheus scraping it every 500 ms."""
    if not Path(PROMETHEUS).exists():
        pytest.skip("prometheus is not installed on this machine (scripts/setup.sh installs Debian's)")
    tmp_path = tmp_path_factory.mktemp("prometheus")
    started: list[ManagedProcess] = []

    def start(job: str, target: str) -> Prometheus:
        port = free_port()
        d = tmp_path / f"prom-{port}"
        d.mkdir()
        config = {
            "global": {"scrape_interval": "500ms", "scrape_timeout": "400ms", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
        }
        (d / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        argv = [
            PROMETHEUS,
            f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        proc = ManagedProcess(f"prometheus:{port}", argv, demo_env(), d / "prometheus.log").start()
        started.append(proc)
        proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
        return Prometheus(proc, port)

    try:
        yield start
    finally:
        for p in started:
            p.stop()
