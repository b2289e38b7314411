"""What the collector tests share besides fixtures: the running stack and services they query
(see conftest.py, which starts them), and the constants of the path."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from examples.otlp_receiver import OtlpGrpcReceiver, OtlpReceiver
from examples.procs import VENV_BIN, ManagedProcess, http_status, wait_until

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
APPS_DIR = Path(__file__).resolve().parent / "apps"
# The services export every second and batch spans/logs for 200 ms, so the tests wait seconds.
FAST_EXPORT = {
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_BLRP_SCHEDULE_DELAY": "200",
    "OTEL_METRIC_EXPORT_INTERVAL": "1000",
}
# Bounded waits: the collector batches for 5 s (the shipped batch timeout), Prometheus scrapes every 1 s.
DATA_TIMEOUT_S = 60.0
TENANT = "acme"


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


class Stack:
    """One collector with its stand-in backends and the Prometheus that scrapes it."""

    def __init__(
        self,
        tempo: OtlpGrpcReceiver,
        loki: OtlpReceiver,
        collector: ManagedProcess,
        prometheus: ManagedProcess,
        ports: Mapping[str, int],
        config: dict[str, Any],
        receivers: list[OtlpGrpcReceiver | OtlpReceiver],
    ) -> None:
        self.tempo = tempo
        self.loki = loki
        self._receivers = receivers
        self.collector = collector
        self.prometheus = prometheus
        self.ports = dict(ports)
        self.config = config  # the collector config it runs, parsed
        self.otlp_endpoint = f"http://127.0.0.1:{ports['otlp_http']}"
        self.prometheus_url = f"http://127.0.0.1:{ports['prometheus']}"
        self.health_url = f"http://127.0.0.1:{ports['health']}/"
        self.telemetry_url = f"http://127.0.0.1:{ports['telemetry']}/metrics"
        self.exporter_url = f"http://127.0.0.1:{ports['exporter']}/metrics"

    # -- the stand-in backends -------------------------------------------------------------------

    def stop_backends(self) -> None:
        """Tempo and Loki go away: their ports refuse connections."""
        self.tempo.stop()
        self.loki.stop()

    def restart_backends(self) -> None:
        """Tempo and Loki come back on the same ports (Loki's receiver starts empty)."""
        self.tempo.start()
        self.loki = OtlpReceiver(port=self.loki.port, prefix=self.loki.prefix).start()
        self._receivers.append(self.loki)

    # -- Prometheus ------------------------------------------------------------------------------

    def query(self, promql: str) -> list[dict[str, Any]]:
        body = _get_json(f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, promql: str) -> float | None:
        """The single value of an instant query, None when it returns nothing."""
        result = self.query(promql)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, promql: str, predicate: Callable[[float], bool], timeout: float = DATA_TIMEOUT_S) -> float:
        """Poll an instant query until its single value satisfies predicate; fail with the last value."""
        last: list[float | None] = [None]

        def check() -> bool:
            last[0] = self.value(promql)
            return last[0] is not None and predicate(last[0])

        assert wait_until(check, timeout, interval=0.5), f"{promql} stayed at {last[0]} for {timeout}s"
        assert last[0] is not None
        return last[0]

    def series(self, match: str) -> list[dict[str, str]]:
        body = _get_json(f"{self.prometheus_url}/api/v1/series?{urllib.parse.urlencode({'match[]': match})}")
        data: list[dict[str, str]] = body["data"]
        return data

    def rules(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = _get_json(f"{self.prometheus_url}/api/v1/rules")["data"]["groups"]
        return groups

    def scrape(self, url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return str(resp.read().decode())


def write_rule_files(target: Path, for_overrides: Mapping[str, str]) -> None:
    """The shipped rule files with every group evaluated each second (time scaled down, nothing
    else changed) and the `for:` of the named alerts replaced."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(RULES_DIR.glob("*.rules.yaml")):
        document = yaml.safe_load(path.read_text())
        for group in document.get("groups") or []:
            group["interval"] = "1s"
            for rule in group.get("rules") or []:
                if rule.get("alert") in for_overrides:
                    rule["for"] = for_overrides[rule["alert"]]
        (target / path.name).write_text(yaml.safe_dump(document, sort_keys=False))


class App:
    """One instrumented service under its real server."""

    def __init__(self, process: ManagedProcess, port: int, metrics_port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> int:
        """GET path once (its own connection); the status code."""
        request = urllib.request.Request(self.url + path, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                resp.read()
                return int(resp.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)

    def send(self, path: str, count: int, headers: Mapping[str, str] | None = None) -> Counter[int]:
        """GET path exactly count times, back to back; the status codes seen."""
        return Counter(self.get(path, headers) for _ in range(count))

    def stream(
        self,
        paths: Sequence[str],
        until: Callable[[], bool],
        headers: Mapping[str, str] | None = None,
        *,
        rounds_after: int = 20,
        max_rounds: int = 1200,
        pace_s: float = 0.05,
    ) -> Counter[tuple[str, int]]:
        """GET every path once per round, a round every pace_s, until ``until()`` holds (checked
        every 5 rounds) and rounds_after rounds more; at most max_rounds. (path, status) -> count.

        The pace keeps every series busy in each of the service's 1 s metric exports, and the
        scrapes in between let Prometheus see the counters grow.
        """
        sent: Counter[tuple[str, int]] = Counter()
        remaining: int | None = None
        for round_number in range(max_rounds):
            for path in paths:
                sent[(path, self.get(path, headers))] += 1
            if remaining is None and round_number % 5 == 4 and until():
                remaining = rounds_after
            if remaining is not None:
                remaining -= 1
                if remaining <= 0:
                    return sent
            time.sleep(pace_s)  # the pace of a bounded load, not a synchronisation
        raise AssertionError(f"the condition did not hold within {max_rounds} rounds of {list(paths)}: sent {dict(sent)}")


def server_argv(kind: str, port: int, workers: int) -> list[str]:
    """The real server for a service: gunicorn with obsbox's pre-fork hooks for Flask (workers
    share one service.instance.id), uvicorn for FastAPI."""
    if kind == "flask":
        return [
            str(VENV_BIN / "gunicorn"),
            "-c",
            "python:obsbox_instrumentation.gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--graceful-timeout",
            "5",
            "flask_app:app",
        ]
    if kind == "fastapi":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "fastapi_app:app",
        ]
    raise ValueError(f"no server for {kind!r}")


def collector_alive(stack: Stack) -> bool:
    """The collector process runs and its health check answers 200."""
    return stack.collector.alive() and http_status(stack.health_url) == 200
