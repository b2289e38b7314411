"""Report jobs go from POST /v2/reports through Redis to the instrumented worker, with job signals."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from obsbox_instrumentation import contract

from examples.otlp_receiver import OtlpReceiver
from examples.procs import ManagedProcess, free_port, wait_until

SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')

JOBS = 20
SERVER, CONSUMER = 2, 5


def _post_report(url: str, tenant: str) -> int:
    req = urllib.request.Request(
        url + "/v2/reports",
        data=json.dumps({"kind": "aging"}).encode(),
        method="POST",
        headers={"X-Tenant-ID": tenant, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def _run_worker(
    start_worker: Callable[..., ManagedProcess], otlp: OtlpReceiver, redis_url: str, jobs: int, **env: str
) -> tuple[int, int, int]:
    worker = start_worker(otlp.endpoint, redis_url, "--max-jobs", str(jobs), "--duration", "60", **env)
    assert worker.proc is not None
    worker.proc.wait(timeout=90)
    m = re.search(r"worker done: succeeded=(\d+) failed=(\d+)", worker.output())
    assert m, worker.output()[-3000:]
    return int(m.group(1)), int(m.group(2)), worker.proc.pid


@pytest.fixture(scope="module")
def processed(
    otlp: OtlpReceiver,
    redis_url: str,
    start_demo: Callable[..., Any],
    start_worker: Callable[..., ManagedProcess],
) -> dict[str, Any]:
    """Enqueue JOBS reports through the API; a first worker takes one job and leaves the backlog, a
    second one with a 50% injected failure rate runs the rest."""
    demo = start_demo(otlp.endpoint, workers=1, OBSBOX_DEMO_REDIS_URL=redis_url)
    statuses = [_post_report(demo.url, f"tenant-{i % 3:04d}") for i in range(JOBS)]
    first = _run_worker(start_worker, otlp, redis_url, 1)
    rest = _run_worker(
        start_worker, otlp, redis_url, JOBS - 1, OBSBOX_DEMO_FAULTS=json.dumps({"jobs": {"fail_rate": 0.5}})
    )
    assert otlp.wait_for(
        lambda: otlp.metric_total("obsbox.job.duration") >= JOBS and len(_job_spans(otlp)) >= JOBS, timeout=30
    )
    return {
        "statuses": statuses,
        "succeeded": first[0] + rest[0],
        "failed": first[1] + rest[1],
        "first_pid": first[2],
    }


def _job_spans(otlp: OtlpReceiver) -> list[Any]:
    return [s for s in otlp.spans() if s.kind == CONSUMER]


def test_reports_are_accepted_and_all_jobs_run(processed: dict[str, Any]) -> None:
    """Every POST /v2/reports answers 202 and the worker runs each job once, some failing by injection."""
    assert processed["statuses"] == [202] * JOBS
    assert processed["succeeded"] + processed["failed"] == JOBS
    assert processed["succeeded"] > 0 and processed["failed"] > 0, processed


def test_job_span_continues_the_enqueuing_request_trace(
    processed: dict[str, Any], otlp: OtlpReceiver
) -> None:
    """Each job span shares the trace of the POST that enqueued it and carries that request's tenant."""
    posts = {
        s.trace_id: s
        for s in otlp.spans()
        if s.kind == SERVER and s.attributes.get("http.route") == "/v2/reports"
    }
    jobs = _job_spans(otlp)
    assert len(jobs) == JOBS
    for job in jobs:
        assert job.trace_id in posts, job
        assert job.attributes.get("tenant.id") == posts[job.trace_id].attributes["tenant.id"]


def test_job_metrics_count_outcomes_as_the_worker_saw_them(
    processed: dict[str, Any], otlp: OtlpReceiver
) -> None:
    """obsbox.job.duration counts exactly the successes and failures the worker reported."""
    for outcome, expected in (("success", processed["succeeded"]), ("failure", processed["failed"])):
        got = otlp.metric_total("obsbox.job.duration", lambda p, o=outcome: p.attributes.get("outcome") == o)  # type: ignore[misc]
        assert got == expected, outcome


def test_queue_gauges_report_the_backlog(processed: dict[str, Any], otlp: OtlpReceiver) -> None:
    """The first worker's last queue gauges show the backlog it left: JOBS-1 waiting, the oldest for a while."""
    points = [p for p in otlp.metric_points() if p.name.startswith("obsbox.job.queue.")]
    first_pid = processed["first_pid"]
    last: dict[str, Any] = {}
    for p in sorted(points, key=lambda p: p.time_unix_nano):
        if p.resource["process.pid"] == first_pid:
            last[p.name] = p
    assert last["obsbox.job.queue.depth"].value == JOBS - 1
    assert last["obsbox.job.queue.oldest_age"].value > 0


def test_worker_metrics_page_matches_the_contract(
    otlp: OtlpReceiver,
    redis_url: str,
    processed: dict[str, Any],
    start_demo: Callable[..., Any],
    start_worker: Callable[..., ManagedProcess],
) -> None:
    """A running worker's /metrics shows job metrics with exactly the contract's names and labels."""
    port = free_port()
    worker = start_worker(otlp.endpoint, redis_url, "--duration", "60", OBSBOX_PROMETHEUS_PORT=str(port))
    demo = start_demo(otlp.endpoint, workers=1, OBSBOX_DEMO_REDIS_URL=redis_url)
    for i in range(3):
        assert _post_report(demo.url, f"tenant-{i:04d}") == 202

    def page() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                return str(resp.read().decode())
        except OSError:
            return ""

    done = re.compile(r'^obsbox_job_duration_seconds_count\{[^}]*outcome="success"[^}]*\} 3\.0$', re.M)
    assert wait_until(lambda: bool(done.search(page())), timeout=30), page() or worker.output()[-2000:]
    text = page()
    for line in text.splitlines():
        m = SERIES_RE.match(line)
        if not m or line.startswith("#"):
            continue
        name = m.group(1)
        assert contract.is_declared_series(name), line
        spec = contract.metric_by_prometheus_name(name)
        if spec is not None and spec.prometheus_name.startswith("obsbox_job"):
            labels = set(LABEL_RE.findall(m.group(2) or ""))
            assert labels == set(spec.labels) | ({"le"} if name.endswith("_bucket") else set()), line
    for name in ("obsbox_job_queue_depth", "obsbox_job_queue_oldest_age_seconds", "obsbox_job_workers"):
        assert re.search(rf"^{name}\{{", text, re.M), name
