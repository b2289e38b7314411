"""Tempo and Loki down (their stand-ins stopped): the collector queues and retries, keeps running,
delivers what it held once they are back, counts what it finally drops, and the shipped
OtelcolDroppingData rule fires on those real counters in Prometheus 3.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from collector_stack import DATA_TIMEOUT_S, RULES_DIR, App, Stack, collector_alive

from examples.procs import wait_until

PATH = "/v1/payments/7"
BEFORE, DURING = "tenant-before", "tenant-during"


def _server_spans(stack: Stack, tenant: str) -> list[Any]:
    return [s for s in stack.tempo.spans() if s.kind == 2 and s.attributes.get("tenant.id") == tenant]


def _logs(stack: Stack, tenant: str) -> list[Any]:
    return [r for r in stack.loki.logs() if r.attributes.get("tenant.id") == tenant]


def _telemetry(stack: Stack, name: str, exporter: str) -> float:
    """Sum of one of the collector's own counters or gauges for one exporter, read from its endpoint."""
    total = 0.0
    for line in stack.scrape(stack.telemetry_url).splitlines():
        if line.startswith(name + "{") and f'exporter="{exporter}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _warm_up(stack: Stack, app: App) -> None:
    """Three requests delivered end to end, so every exporter has sent before the outage."""
    assert app.send(PATH, 3, {"X-Tenant-ID": BEFORE}) == {200: 3}
    assert wait_until(lambda: len(_server_spans(stack, BEFORE)) == 3 and len(_logs(stack, BEFORE)) == 3, DATA_TIMEOUT_S)


@dataclass
class Outage:
    stack: Stack
    during: int  # requests answered during the outage
    alive_during: bool  # process up and health check 200 while the backends were down
    queued_during: float  # the otlp/tempo exporter's queue size seen during the outage


@pytest.fixture(scope="module")
def outage(start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> Outage:
    """The shipped config (5 minutes of retries): the backends go down under traffic, then come back."""
    stack = start_stack()
    app = start_app("fastapi", stack.otlp_endpoint)
    _warm_up(stack, app)
    stack.stop_backends()
    log = stack.collector.output

    def queued_and_retrying() -> bool:
        return (
            _telemetry(stack, "otelcol_exporter_queue_size", "otlp/tempo") >= 1
            and "otlp/tempo" in log()
            and "Will retry the request after interval" in log()
        )

    sent = app.stream([PATH], queued_and_retrying, {"X-Tenant-ID": DURING}, rounds_after=1)
    queued = _telemetry(stack, "otelcol_exporter_queue_size", "otlp/tempo")
    alive = collector_alive(stack)
    stack.restart_backends()
    return Outage(stack, sent[(PATH, 200)], alive, queued)


def test_collector_keeps_running_while_backends_are_down(outage: Outage) -> None:
    """With Tempo and Loki refusing connections the collector stays up, healthy, and logs its retries."""
    assert outage.alive_during
    log = outage.stack.collector.output()
    for exporter in ("otlp/tempo", "otlphttp/loki"):
        assert any(exporter in line and "Will retry the request after interval" in line for line in log.splitlines()), exporter
    assert "panic" not in log


def test_collector_queues_and_delivers_after_the_outage(outage: Outage) -> None:
    """What arrived during the outage sat in the exporter queue and reaches Tempo and Loki once they are back, none dropped."""
    stack = outage.stack
    assert outage.queued_during >= 1
    assert wait_until(lambda: len(_server_spans(stack, DURING)) >= outage.during, DATA_TIMEOUT_S), len(_server_spans(stack, DURING))
    assert wait_until(lambda: len(_logs(stack, DURING)) >= outage.during, DATA_TIMEOUT_S), len(_logs(stack, DURING))
    assert len(_server_spans(stack, DURING)) == outage.during
    assert len(_logs(stack, DURING)) == outage.during
    assert _telemetry(stack, "otelcol_exporter_send_failed_spans", "otlp/tempo") == 0
    assert _telemetry(stack, "otelcol_exporter_send_failed_log_records", "otlphttp/loki") == 0


def _short_retries(config: dict[str, Any]) -> None:
    """Give up after 2 s instead of the exporters' default 5 minutes (time scaled down, nothing else)."""
    for exporter in ("otlp/tempo", "otlphttp/loki"):
        config["exporters"][exporter]["retry_on_failure"] = {
            "enabled": True,
            "initial_interval": "500ms",
            "max_interval": "1s",
            "max_elapsed_time": "2s",
        }


@dataclass
class Dropping:
    stack: Stack
    before: dict[str, float]  # items the receiver had accepted when the backends went down
    alive: bool

    def accepted_during(self, exporter: str) -> float:
        return _accepted(self.stack, exporter) - self.before[exporter]

    def dropped(self, exporter: str) -> float:
        return _telemetry(self.stack, DROPPED[exporter], exporter)


RECEIVED = {"otlp/tempo": "otelcol_receiver_accepted_spans", "otlphttp/loki": "otelcol_receiver_accepted_log_records"}
DROPPED = {"otlp/tempo": "otelcol_exporter_send_failed_spans", "otlphttp/loki": "otelcol_exporter_send_failed_log_records"}


def _accepted(stack: Stack, exporter: str) -> float:
    total = 0.0
    for line in stack.scrape(stack.telemetry_url).splitlines():
        if line.startswith(RECEIVED[exporter] + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture(scope="module")
def dropping(start_stack: Callable[..., Stack], start_app: Callable[..., App]) -> Dropping:
    """Retries shortened and the rule's `for:` at 0 s: the backends stay down under traffic until the rule fires."""
    stack = start_stack(patch_config=_short_retries, for_overrides={"OtelcolDroppingData": "0s"})
    app = start_app("fastapi", stack.otlp_endpoint)
    _warm_up(stack, app)
    before = {e: _accepted(stack, e) for e in RECEIVED}
    stack.stop_backends()

    def firing() -> bool:
        return bool(stack.query('ALERTS{alertname="OtelcolDroppingData",alertstate="firing",job="otelcol"}'))

    app.stream([PATH], firing, {"X-Tenant-ID": DURING}, rounds_after=1, pace_s=0.2, max_rounds=600)
    return Dropping(stack, before, collector_alive(stack))


def test_collector_counts_every_item_it_drops(dropping: Dropping) -> None:
    """send_failed comes to exactly the spans and log records the receiver accepted while the backends were down."""
    assert dropping.alive
    for exporter in DROPPED:
        # The service's last exports and the collector's last retries settle within seconds.
        assert wait_until(
            lambda e=exporter: dropping.accepted_during(e) > 0 and dropping.dropped(e) == dropping.accepted_during(e),
            DATA_TIMEOUT_S,
        ), (exporter, dropping.accepted_during(exporter), dropping.dropped(exporter))
    assert "Exporting failed. Dropping data." in dropping.stack.collector.output()


def test_dropping_rule_fires_on_the_real_counters(dropping: Dropping) -> None:
    """The shipped OtelcolDroppingData expression is true on the real collector's counters (its `for:` set to 0 s here)."""
    stack = dropping.stack
    firing = stack.query('ALERTS{alertname="OtelcolDroppingData",alertstate="firing"}')
    assert [a["metric"]["job"] for a in firing] == ["otelcol"]
    (rule,) = [
        r
        for g in yaml.safe_load((RULES_DIR / "stack.rules.yaml").read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "OtelcolDroppingData"
    ]
    (result,) = stack.query(rule["expr"])
    assert result["metric"]["job"] == "otelcol"
    assert float(result["value"][1]) > 0.01
