"""Invoice renders go from POST /v2/invoices/<id>/render through a real redis-server to a real
`obsbox-instrument rq worker` (a fork per job): the demo host's job path, run on this machine."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from examples.otlp_receiver import OtlpReceiver
from examples.procs import ManagedProcess, demo_env

LAUNCHER = str(Path(sys.executable).parent / "obsbox-instrument")
RQ = str(Path(sys.executable).parent / "rq")
GOOD, POISON = 8, 4
SERVER, PRODUCER, CONSUMER = 2, 4, 5
STATUS_ERROR = 2
RENDER = "examples.demo_service.invoices.render_invoice"


def _post(url: str, path: str, tenant: str | None, body: dict[str, Any] | None = None) -> int:
    headers = {"Content-Type": "application/json", **({"X-Tenant-ID": tenant} if tenant else {})}
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(url + path, data=data, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


@pytest.fixture(scope="module")
def rendered(
    otlp: OtlpReceiver, redis_url: str, start_demo: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """GOOD renders, then POISON more with the jobs fault at 100%; one burst worker runs them all."""
    demo = start_demo(otlp.endpoint, workers=1, OBSBOX_DEMO_REDIS_URL=redis_url)
    statuses = [_post(demo.url, f"/v2/invoices/inv-{i:04d}/render", "acme") for i in range(GOOD)]
    assert _post(demo.url, "/admin/faults", None, {"jobs": {"fail_rate": 1.0}}) == 200
    statuses += [_post(demo.url, f"/v2/invoices/inv-{i:04d}/render", "globex") for i in range(POISON)]
    log = tmp_path_factory.mktemp("rq") / "worker.log"
    env = demo_env(
        OTEL_SERVICE_NAME="invoicing-demo-worker", OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OBSBOX_PROMETHEUS_ENABLED="false", OBSBOX_JOBS_QUEUE_INTERVAL="0",
    )  # fmt: skip
    worker = ManagedProcess("rq-worker", [LAUNCHER, RQ, "worker", "--burst", "--url", redis_url, "invoices"], env, log)
    worker.start()
    try:
        assert worker.proc is not None
        assert worker.proc.wait(timeout=120) == 0, worker.output()[-3000:]
    finally:
        worker.stop()
    assert otlp.wait_for(lambda: len(_spans(otlp, CONSUMER)) >= GOOD + POISON, timeout=30), worker.output()[-3000:]
    from redis import Redis
    from rq import Queue

    queue = Queue("invoices", connection=Redis.from_url(redis_url))
    return {
        "statuses": statuses,
        "finished": queue.finished_job_registry.count,
        "failed": queue.failed_job_registry.count,
        "left": len(queue),
    }


def _spans(otlp: OtlpReceiver, kind: int) -> list[Any]:
    return [s for s in otlp.spans() if s.kind == kind and s.attributes.get("job.name", "") == RENDER]


def test_renders_are_accepted_and_each_job_runs_once(rendered: dict[str, Any]) -> None:
    """Every render POST answers 202; RQ finished the good jobs, failed the poison ones, left none."""
    assert rendered["statuses"] == [202] * (GOOD + POISON)
    assert (rendered["finished"], rendered["failed"], rendered["left"]) == (GOOD, POISON, 0)


def test_job_spans_continue_the_request_trace_with_its_tenant(rendered: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Each job's CONSUMER span (from a work horse) sits in the trace of the POST that enqueued it,
    next to a PRODUCER span, and carries that request's tenant; the poison jobs' spans are errors."""
    posts = {
        s.trace_id: s for s in otlp.spans()
        if s.kind == SERVER and s.attributes.get("http.route") == "/v2/invoices/<invoice_id>/render"
    }  # fmt: skip
    producers = {s.trace_id for s in _spans(otlp, PRODUCER)}
    consumers = _spans(otlp, CONSUMER)
    assert len(consumers) == GOOD + POISON
    for span in consumers:
        assert span.trace_id in posts and span.trace_id in producers, span
        assert span.attributes.get("tenant.id") == posts[span.trace_id].attributes["tenant.id"]
    errors = [s for s in consumers if s.status_code == STATUS_ERROR]
    assert len(errors) == POISON
    assert {s.attributes.get("tenant.id") for s in errors} == {"globex"}
