"""The demo runs under the zero-code ``obsbox-instrument`` launcher too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from examples.loadgen import Summary, run_load
from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import VENV_BIN

REQUESTS = 40


@pytest.fixture(scope="module")
def launched(otlp: OtlpReceiver, payments: PaymentsServer, start_demo: Callable[..., Any]) -> Summary:
    """``obsbox-instrument gunicorn ...`` with 2 workers serves a small load; its spans are collected."""
    demo = start_demo(
        otlp.endpoint, workers=2, payments_url=payments.url, launcher=(str(VENV_BIN / "obsbox-instrument"),)
    )
    summary = run_load(
        demo.url, max_requests=REQUESTS, duration_s=30, tenants=4, routes="v1_list:1,v2_list:1"
    )
    assert summary.statuses == {"200": REQUESTS}
    assert otlp.wait_for(lambda: len(_served(otlp)) == REQUESTS, timeout=20), len(_served(otlp))
    return summary


def _served(otlp: OtlpReceiver) -> list[Any]:
    return [
        s for s in otlp.spans() if s.kind == 2 and str(s.attributes.get("http.route", "")).startswith("/v")
    ]


def test_launcher_spans_carry_route_tenant_and_api_version(launched: Summary, otlp: OtlpReceiver) -> None:
    """Under the launcher every request span names its API version and one of the tenants sent."""
    spans = _served(otlp)
    assert {s.attributes["api.version"] for s in spans} == {"v1", "v2"}
    assert {s.attributes["tenant.id"] for s in spans} <= set(launched.by_tenant)


def test_launcher_keeps_one_instance_id_for_all_spans(launched: Summary, otlp: OtlpReceiver) -> None:
    """Server and client spans of every worker share one service.instance.id under the launcher."""
    assert len({s.resource["service.instance.id"] for s in otlp.spans()}) == 1
