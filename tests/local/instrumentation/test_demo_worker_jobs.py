"""Report jobs go from POST /v2/reports through Redis to the instrumented worker, with job signals."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from examples.otlp_receiver import OtlpReceiver
from examples.procs import ManagedProcess

JOBS = 20
SERVER, CONSUMER = 2, 5


def _post_report(url: str, tenant: str) -> int:
    req = urllib.request.Request(
        url + "/v2/reports", data=json.dumps({"kind": "aging"}).encode(), method="POST",
        headers={"X-Tenant-ID": tenant, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


@pytest.fixture(scope="module")
def processed(
    otlp: OtlpReceiver, redis_url: str, start_demo: Callable[..., Any], start_worker: Callable[..., ManagedProcess]
) -> dict[str, Any]:
    """Enqueue JOBS reports through the API, then let a worker with a 50% job failure rate run them all."""
    demo = start_demo(otlp.endpoint, workers=1, OBSBOX_DEMO_REDIS_URL=redis_url)
    statuses = [_post_report(demo.url, f"tenant-{i % 3:04d}") for i in range(JOBS)]
    worker = start_worker(
        otlp.endpoint, redis_url, "--max-jobs", str(JOBS), "--duration", "60",
        OBSBOX_DEMO_FAULTS=json.dumps({"jobs": {"fail_rate": 0.5}}),
    )
    assert worker.proc is not None
    worker.proc.wait(timeout=90)
    out = worker.output()
    m = re.search(r"worker done: succeeded=(\d+) failed=(\d+)", out)
    assert m, out[-3000:]
    assert otlp.wait_for(
        lambda: otlp.metric_total("obsbox.job.duration") >= JOBS and len(_job_spans(otlp)) >= JOBS, timeout=30
    ), out[-3000:]
    return {"statuses": statuses, "succeeded": int(m.group(1)), "failed": int(m.group(2)), "output": out}


def _job_spans(otlp: OtlpReceiver) -> list[Any]:
    return [s for s in otlp.spans() if s.kind == CONSUMER]


def test_reports_are_accepted_and_all_jobs_run(processed: dict[str, Any]) -> None:
    """Every POST /v2/reports answers 202 and the worker runs each job once, some failing by injection."""
    assert processed["statuses"] == [202] * JOBS
    assert processed["succeeded"] + processed["failed"] == JOBS
    assert processed["succeeded"] > 0 and processed["failed"] > 0


def test_job_span_continues_the_enqueuing_request_trace(processed: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Each job span shares the trace of the POST that enqueued it and carries that request's tenant."""
    posts = {s.trace_id: s for s in otlp.spans() if s.kind == SERVER and s.attributes.get("http.route") == "/v2/reports"}
    jobs = _job_spans(otlp)
    assert len(jobs) == JOBS
    for job in jobs:
        assert job.trace_id in posts, job
        assert job.attributes.get("tenant.id") == posts[job.trace_id].attributes["tenant.id"]


def test_job_metrics_count_outcomes_as_the_worker_saw_them(processed: dict[str, Any], otlp: OtlpReceiver) -> None:
    """obsbox.job.duration counts exactly the successes and failures the worker reported."""
    for outcome, expected in (("success", processed["succeeded"]), ("failure", processed["failed"])):
        got = otlp.metric_total("obsbox.job.duration", lambda p, o=outcome: p.attributes.get("outcome") == o)  # type: ignore[misc]
        assert got == expected, outcome


def test_queue_gauges_saw_the_backlog(processed: dict[str, Any], otlp: OtlpReceiver) -> None:
    """The queue depth gauge reported the full backlog and the oldest-age gauge a positive age."""
    depth = [p.value for p in otlp.metric_points() if p.name == "obsbox.job.queue.depth"]
    age = [p.value for p in otlp.metric_points() if p.name == "obsbox.job.queue.oldest_age"]
    assert depth and max(depth) == JOBS
    assert age and max(age) > 0
