"""Fault switches and the load generator against the real demo under gunicorn (2 workers)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import REPO_ROOT

ENV_TENANT = "tenant-0002"


@pytest.fixture(scope="module")
def demo(otlp: OtlpReceiver, payments: PaymentsServer, start_demo: Callable[..., Any]) -> Any:
    """The demo with one fault set from the environment at start: tenant-0002 gets 429 on /v2/invoices."""
    faults = {"rules": [{"route": "/v2/invoices", "tenant": ENV_TENANT, "error_rate": 1.0, "status": 429}]}
    return start_demo(
        otlp.endpoint, workers=2, payments_url=payments.url, OBSBOX_DEMO_FAULTS=json.dumps(faults)
    )


def _admin(url: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url + "/admin/faults", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        result: dict[str, Any] = json.load(resp)
        return result


def test_env_fault_applies_from_start(demo: Any) -> None:
    """The fault given in OBSBOX_DEMO_FAULTS fails its tenant's /v2 requests and nothing else."""
    bad = run_load(
        demo.url,
        max_requests=20,
        duration_s=30,
        tenants=1,
        routes="v2_list:1",
        headers={"X-Tenant-ID": ENV_TENANT},
    )
    assert bad.statuses == {"429": 20}
    good = run_load(demo.url, max_requests=20, duration_s=30, tenants=1, routes="v2_list:1,v1_list:1")
    assert good.statuses == {"200": 20}


def test_runtime_fault_reaches_every_worker(demo: Any, otlp: OtlpReceiver) -> None:
    """A fault set through POST /admin/faults fails the matching requests in both gunicorn workers."""
    _admin(
        demo.url,
        "POST",
        {"rules": [{"route": "/v1/invoices", "tenant": "tenant-0001", "error_rate": 1.0, "status": 503}]},
    )
    try:
        summary = run_load(
            demo.url, max_requests=60, duration_s=30, tenants=1, routes="v1_list:1", concurrency=4
        )
    finally:
        _admin(demo.url, "DELETE")
    assert summary.statuses == {"503": 60}

    def failing_pids() -> set[Any]:
        return {
            s.resource["process.pid"]
            for s in otlp.spans()
            if s.attributes.get("http.response.status_code") == 503
            and s.attributes.get("tenant.id") == "tenant-0001"
        }

    assert otlp.wait_for(lambda: len(failing_pids()) == 2, timeout=20), failing_pids()
    after = run_load(demo.url, max_requests=10, duration_s=30, tenants=1, routes="v1_list:1")
    assert after.statuses == {"200": 10}


def test_latency_fault_slows_only_its_route(demo: Any) -> None:
    """A 200 ms latency switch on /v2/invoices delays that route and leaves /v1 fast."""
    _admin(demo.url, "POST", {"rules": [{"route": "/v2/invoices", "latency_ms": 200}]})
    try:
        slow = run_load(
            demo.url, max_requests=16, duration_s=30, tenants=3, routes="v2_list:1", concurrency=4
        )
        fast = run_load(
            demo.url, max_requests=16, duration_s=30, tenants=3, routes="v1_list:1", concurrency=4
        )
    finally:
        _admin(demo.url, "DELETE")
    assert min(slow.latencies_s) >= 0.2
    assert fast.percentile(0.5) < 0.2


def test_loadgen_stops_at_its_time_bound(demo: Any) -> None:
    """With a huge request budget, 2 s at 20 requests/s sends about 40 requests and stops on time."""
    summary = run_load(demo.url, max_requests=1_000_000, duration_s=2.0, rps=20, tenants=5, routes="ping:1")
    assert 30 <= summary.sent <= 41
    assert summary.elapsed_s < 4.0


def test_loadgen_cli_prints_a_json_summary(demo: Any) -> None:
    """``python -m examples.loadgen --json`` sends exactly --max-requests and reports statuses and percentiles."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.loadgen",
            "--url",
            demo.url,
            "--max-requests",
            "30",
            "--duration",
            "30",
            "--tenants",
            "50",
            "--routes",
            "v1_list:2,v1_get:1,v2_list:1",
            "--json",
            "--seed",
            "1",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    summary = json.loads(out)
    assert summary["sent"] == 30
    assert sum(summary["statuses"].values()) == 30
    assert summary["p99_ms"] >= summary["p50_ms"] > 0
