"""The OTLP data path for real: instrumented services -> the pinned collector (otelcol-obsbox, run
with the config obsbox's deploy renders) -> the pinned Prometheus scraping it as the deploy
configures; OTLP receivers built on opentelemetry-proto stand in for Tempo (gRPC) and Loki
(OTLP/HTTP under /otlp). Everything on loopback free ports, stopped at teardown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import yaml
from collector_stack import APPS_DIR, FAST_EXPORT, App, Stack, server_argv, write_rule_files

from examples.otlp_receiver import OtlpGrpcReceiver, OtlpReceiver
from examples.procs import ManagedProcess, demo_env, free_port
from obsbox.deploy.plan import otelcol_settings, prometheus_settings, rule_file_globs
from obsbox.deploy.settings import settings_from_host_data
from obsbox.render.otelcol import render_otelcol_config
from obsbox.render.prometheus import render_prometheus_config


@pytest.fixture(scope="module")
def pinned_binaries(pinned_tool: Callable[[str], str]) -> dict[str, str]:
    """The collector and Prometheus this tier runs: obsbox's builds at the deploy's pinned versions."""
    return {"otelcol": pinned_tool("otelcol"), "prometheus": pinned_tool("prometheus")}


@pytest.fixture(scope="module")
def start_stack(
    pinned_binaries: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Stack]]:
    """start_stack(patch_config=None, for_overrides={}) -> a running Stack; all stopped at teardown.

    The collector config is the deploy's (settings_from_host_data -> render_otelcol_config) with
    loopback free ports and the backends pointed at the stand-ins; ``patch_config`` may change the
    parsed config first (a test that needs a shorter retry window says so). Prometheus runs the
    deploy's scrape jobs (otelcol's own telemetry, and the exporter with honor_labels) every second.
    """
    work = tmp_path_factory.mktemp("collector")
    receivers: list[OtlpGrpcReceiver | OtlpReceiver] = []
    processes: list[ManagedProcess] = []

    def start(
        patch_config: Callable[[dict[str, Any]], None] | None = None, for_overrides: Mapping[str, str] | None = None
    ) -> Stack:
        tempo = OtlpGrpcReceiver().start()
        receivers.append(tempo)
        loki = OtlpReceiver(prefix="/otlp").start()
        receivers.append(loki)
        ports = {
            name: free_port()
            for name in ("otlp_grpc", "otlp_http", "health", "telemetry", "exporter", "prometheus")
        }
        settings = settings_from_host_data(
            {
                "obsbox_bind_address": "127.0.0.1",
                **{f"{c}_enabled": False for c in ("node_exporter", "alertmanager", "loki", "tempo", "grafana")},
                "prometheus_port": ports["prometheus"],
                "prometheus_scrape_interval": "1s",
                "prometheus_evaluation_interval": "1s",
                "otelcol_otlp_grpc_port": ports["otlp_grpc"],
                "otelcol_otlp_http_port": ports["otlp_http"],
                "otelcol_health_port": ports["health"],
                "otelcol_telemetry_port": ports["telemetry"],
                "otelcol_prometheus_exporter_port": ports["exporter"],
                "otelcol_tempo_otlp_endpoint": tempo.endpoint,
                "otelcol_loki_otlp_url": loki.endpoint,
            }
        )
        run = work / f"stack-{ports['prometheus']}"
        run.mkdir()
        # Each stack its own persistent queue: file_storage locks its directory.
        config = yaml.safe_load(render_otelcol_config(dataclasses.replace(otelcol_settings(settings), queue_dir=str(run / "queue"))))
        if patch_config is not None:
            patch_config(config)
        (run / "otelcol.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        collector = ManagedProcess(
            "otelcol",
            [pinned_binaries["otelcol"], f"--config={run / 'otelcol.yaml'}"],
            demo_env(),
            run / "otelcol.log",
        ).start()
        processes.append(collector)
        write_rule_files(run / "rules", for_overrides or {})
        (run / "prometheus.yml").write_text(
            render_prometheus_config(prometheus_settings(settings, rule_file_globs(str(run / "rules"))))
        )
        prometheus = ManagedProcess(
            "prometheus",
            [
                pinned_binaries["prometheus"],
                f"--config.file={run / 'prometheus.yml'}",
                f"--storage.tsdb.path={run / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--log.level=warn",
            ],
            demo_env(),
            run / "prometheus.log",
        ).start()
        processes.append(prometheus)
        stack = Stack(tempo, loki, collector, prometheus, ports, config, receivers)
        collector.wait_http(stack.health_url, timeout=60)
        prometheus.wait_http(f"{stack.prometheus_url}/-/ready", timeout=60)
        return stack

    try:
        yield start
    finally:
        for process in reversed(processes):
            process.stop()
        for receiver in receivers:
            receiver.stop()


@pytest.fixture(scope="module")
def start_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., App]]:
    """start_app("flask" | "fastapi", otlp_endpoint, workers=1, **env) -> a ready App exporting
    there; stopped at teardown."""
    work = tmp_path_factory.mktemp("apps")
    started: list[ManagedProcess] = []

    def start(kind: str, otlp_endpoint: str, workers: int = 1, **env: str) -> App:
        port, metrics_port = free_port(), free_port()
        full_env = demo_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_endpoint,
            OBSBOX_PROMETHEUS_PORT=str(metrics_port),
            **FAST_EXPORT,
        )
        full_env["PYTHONPATH"] = f"{APPS_DIR}:{full_env['PYTHONPATH']}"
        full_env.update(env)
        process = ManagedProcess(f"{kind}:{port}", server_argv(kind, port, workers), full_env, work / f"{kind}-{port}.log")
        started.append(process.start())
        app = App(process, port, metrics_port)
        process.wait_http(app.url + "/healthz", timeout=60)
        return app

    try:
        yield start
    finally:
        for process in started:
            process.stop()
