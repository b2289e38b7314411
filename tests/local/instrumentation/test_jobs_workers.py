"""Celery and RQ, instrumented with no code change (obsbox-instrument), against real processes.

A real redis-server, a real ``celery worker`` (prefork pool recycling its children every 3 tasks)
and a real ``rq worker`` (a fork per job), a real OTLP/HTTP receiver and the workers' real
/metrics pages: N jobs sent are N outcomes counted, and every job's CONSUMER span arrives in the
trace of the PRODUCER span that enqueued it, including the spans of recycled children. The
jobs dashboard and jobs.rules.yaml read only what these pages expose.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from obsbox_instrumentation import contract

from dashboards import jobs as jobs_dashboard
from dashboards._queries import interpolate, queries
from examples.otlp_receiver import OtlpReceiver
from examples.procs import REPO_ROOT, VENV_BIN, ManagedProcess, demo_env, free_port, wait_until
from obsbox.contract_check import metric_names, undeclared_labels

SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
PRODUCER, CONSUMER = 4, 5
LAUNCHER = str(VENV_BIN / "obsbox-instrument")
RENDERS, POISONS, FLAKY = 9, 2, 2
# The worker exports spans only when its batch fills, at a child's exit or at shutdown: any span
# seen before shutdown came from a pool child's / work horse's exit flush.
SLOW_BATCH = {"OTEL_BSP_SCHEDULE_DELAY": "60000", "OTEL_METRIC_EXPORT_INTERVAL": "60000"}


def parse_page(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = SERIES.match(line)
        if m and not line.startswith("#"):
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def value(page: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, ls, v in page if n == name and all(ls.get(k) == x for k, x in labels.items()))


class Worker:
    def __init__(self, process: ManagedProcess, metrics_port: int) -> None:
        self.process = process
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"

    def page(self) -> list[tuple[str, dict[str, str], float]]:
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
                return parse_page(resp.read().decode())
        except OSError:
            return []

    def raw(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
            return str(resp.read().decode())

    def wait(self, predicate: Callable[[list[Any]], bool], timeout: float = 120) -> list[Any]:
        last: list[Any] = []

        def check() -> bool:
            nonlocal last
            last = self.page()
            return predicate(last)

        assert wait_until(check, timeout=timeout, interval=0.5), (
            "\n".join(f"{n}{ls} {v}" for n, ls, v in last if n.startswith("obsbox_job") and not n.endswith("_bucket"))
            + "\n--- worker output ---\n" + self.process.output()[-4000:]
        )
        return last


@pytest.fixture(scope="module")
def procs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ManagedProcess]]:
    tmp = tmp_path_factory.mktemp("jobs")
    started: list[ManagedProcess] = []

    def start(name: str, argv: list[str], **env: str) -> ManagedProcess:
        full = demo_env(PATH=f"{VENV_BIN}:/usr/bin:/bin", **env)
        proc = ManagedProcess(name, argv, full, tmp / f"{name}-{len(started)}.log").start()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for p in started:
            p.stop()


def send(procs: Callable[..., ManagedProcess], otlp: OtlpReceiver, argv: list[str], **env: str) -> None:
    """Enqueue from a separate instrumented process (the web app's role)."""
    proc = procs(
        "producer", [LAUNCHER, sys.executable, "-m", *argv], OTEL_SERVICE_NAME="jobs-producer",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint, OBSBOX_PROMETHEUS_ENABLED="false", **env,
    )
    assert proc.proc is not None
    assert proc.proc.wait(timeout=120) == 0, proc.output()[-3000:]


def stop_main_process(proc: ManagedProcess, timeout: float) -> None:
    """SIGTERM to the worker's main process only (a warm shutdown, as systemd's KillMode=mixed
    would), then clean up the group."""
    assert proc.proc is not None
    proc.proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.proc.wait(timeout=timeout)
    proc.stop()


def start_worker(procs: Callable[..., ManagedProcess], otlp: OtlpReceiver, name: str, argv: list[str], queue: str, **env: str) -> Worker:
    port = free_port()
    proc = procs(
        name, [LAUNCHER, *argv], OTEL_SERVICE_NAME=name, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OBSBOX_PROMETHEUS_PORT=str(port), OBSBOX_JOBS_QUEUE_INTERVAL="1", **SLOW_BATCH, **env,
    )
    worker = Worker(proc, port)
    worker.wait(lambda p: value(p, "obsbox_job_workers", queue=queue) == 1 and value(p, "obsbox_job_broker_up", queue=queue) == 1)
    return worker


def spans_of(otlp: OtlpReceiver, service: str, kind: int, job: str) -> list[Any]:
    return [
        s for s in otlp.spans()
        if s.kind == kind and s.resource.get("service.name") == service and s.attributes.get("job.name", "").endswith(job)
    ]


def assert_complete_traces(
    otlp: OtlpReceiver, service: str, job: str, count: int, tenant: str, traces: set[str] | None = None
) -> list[Any]:
    producers = {s.trace_id: s for s in spans_of(otlp, "jobs-producer", PRODUCER, job)}
    if traces is not None:
        assert len(traces) == count
        producers = {t: s for t, s in producers.items() if t in traces}
    consumers = [s for s in spans_of(otlp, service, CONSUMER, job) if traces is None or s.trace_id in traces]
    assert len(consumers) == count, [c.name for c in consumers]
    for span in consumers:
        parent = producers.get(span.trace_id)
        assert parent is not None, f"{span.name} is not in an enqueuer's trace"
        assert span.parent_span_id == parent.span_id
        assert span.attributes.get("tenant.id") == tenant
    return consumers


STARTUP_COMMANDS = {"EXISTS", "CLIENT SETNAME", "CLIENT INFO"}


def assert_no_loop_traces(otlp: OtlpReceiver, service: str) -> None:
    """The worker's Redis polling (traced by opentelemetry-instrumentation-redis, installed here)
    makes no traces of its own: every span of the worker belongs to a job's trace."""
    spans = [s for s in otlp.spans() if s.resource.get("service.name") == service]
    job_traces = {s.trace_id for s in spans if s.kind == CONSUMER}
    stray = [s.name for s in spans if s.trace_id not in job_traces]
    # What `rq worker` runs once while it starts, before its loop: a few single spans at most.
    assert len(stray) <= 5 and set(stray) <= STARTUP_COMMANDS, stray[:20]


def assert_scrape_matches_contract(page: str) -> set[str]:
    names = set()
    for name, labels, _ in parse_page(page):
        if not name.startswith("obsbox_job"):
            continue
        spec = contract.metric_by_prometheus_name(name)
        assert spec is not None, name
        assert set(labels) == set(spec.labels) | ({"le"} if name.endswith("_bucket") else set()), (name, labels)
        if spec.prometheus_name == contract.JOB_DURATION.prometheus_name:
            assert labels["outcome"] in contract.JOB_OUTCOMES
        names.add(name)
    return names


def jobs_expressions() -> list[str]:
    """Every PromQL expression of jobs.rules.yaml and of the jobs dashboard (variables interpolated
    as Grafana would with "All" selected)."""
    rules = yaml.safe_load((REPO_ROOT / "alert_rules" / "jobs.rules.yaml").read_text())
    exprs = [str(r["expr"]) for g in rules["groups"] for r in g["rules"]]
    model = jobs_dashboard.build()
    return exprs + [interpolate(q.expr, model) for q in queries(model)]


@pytest.fixture(scope="module")
def celery_run(procs: Callable[..., ManagedProcess], otlp: OtlpReceiver, redis_url: str) -> dict[str, Any]:
    queue = "invoices-celery"
    env = {"JOBS_BROKER_URL": redis_url, "JOBS_QUEUE": queue}
    worker = start_worker(
        procs, otlp, "jobs-celery",
        [str(VENV_BIN / "celery"), "-A", "examples.jobs.celery_app", "worker", "-c", "2",
         "--max-tasks-per-child", "3", "-Q", queue, "-l", "warning", "--without-mingle", "--without-gossip"],
        queue, **env,
    )
    for task, count in (("render_invoice", RENDERS), ("poison", POISONS), ("flaky", FLAKY), ("hang", 1), ("crash", 1)):
        args = ["examples.jobs.celery_app", "send", task, str(count), "--tenant", "acme"]
        send(procs, otlp, args, **env)
    expected = {
        ("render_invoice", "success"): RENDERS, ("poison", "failure"): POISONS, ("flaky", "retry"): FLAKY,
        ("flaky", "success"): FLAKY, ("hang", "timeout"): 1, ("crash", "abandoned"): 1,
    }
    total = sum(expected.values())
    page = worker.wait(lambda p: value(p, "obsbox_job_duration_seconds_count") >= total)
    # Spans that reached the receiver while the worker still ran: only exit flushes send them.
    flushed_early = len(spans_of(otlp, "jobs-celery", CONSUMER, ""))
    sent = {s.trace_id for s in spans_of(otlp, "jobs-producer", PRODUCER, "render_invoice")}
    raw = worker.raw()
    # The stuck pool: both pool processes sleep in a task; the broker still shows the backlog grow
    # (beyond the few messages the worker prefetched, which Redis no longer lists).
    send(procs, otlp, ["examples.jobs.celery_app", "send", "render_invoice", "2", "--seconds", "15"], **env)
    send(procs, otlp, ["examples.jobs.celery_app", "send", "render_invoice", "8"], **env)
    stuck = worker.wait(lambda p: value(p, "obsbox_job_queue_depth", queue=queue) >= 4
                        and value(p, "obsbox_job_queue_oldest_age_seconds", queue=queue) > 3)
    stop_main_process(worker.process, timeout=90)
    return {"queue": queue, "page": page, "raw": raw, "expected": expected, "total": total,
            "flushed_early": flushed_early, "stuck": stuck, "sent": sent}


def test_celery_counts_every_outcome_exactly(celery_run: dict[str, Any]) -> None:
    """Every task sent is counted once, with its outcome, across recycled pool children."""
    page, queue = celery_run["page"], celery_run["queue"]
    assert value(page, "obsbox_job_duration_seconds_count") == celery_run["total"]
    for (job, outcome), count in celery_run["expected"].items():
        assert value(page, "obsbox_job_duration_seconds_count", job_name=job, outcome=outcome, queue=queue) == count, (job, outcome)
    # One lag observation per execution (retries run again), and the broker reads.
    assert value(page, "obsbox_job_queue_lag_seconds_count", queue=queue) == celery_run["total"]
    assert value(page, "obsbox_job_broker_up", queue=queue) == 1


def test_celery_traces_are_complete_across_recycled_children(celery_run: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Each render_invoice CONSUMER span is a child of its enqueuer's PRODUCER span with the
    tenant, and spans arrived before shutdown (flushed by children leaving the pool)."""
    consumers = assert_complete_traces(otlp, "jobs-celery", "render_invoice", RENDERS, "acme", celery_run["sent"])
    assert celery_run["flushed_early"] >= 3
    assert len({s.resource["service.instance.id"] for s in consumers}) == 1
    assert len({s.resource["process.pid"] for s in consumers}) >= 3  # recycled every 3 tasks
    assert_no_loop_traces(otlp, "jobs-celery")
    master = spans_of(otlp, "jobs-celery", CONSUMER, "hang") + spans_of(otlp, "jobs-celery", CONSUMER, "crash")
    assert sorted(s.attributes["job.outcome"] for s in master) == ["abandoned", "timeout"]


def test_celery_stuck_pool_shows_backlog_from_the_broker(celery_run: dict[str, Any]) -> None:
    """With every pool process busy, depth and oldest age still move: they come from Redis."""
    stuck, queue = celery_run["stuck"], celery_run["queue"]
    # 8 sent behind the 2 sleeping tasks; the main process prefetches at most one per pool process.
    assert 4 <= value(stuck, "obsbox_job_queue_depth", queue=queue) <= 8
    assert value(stuck, "obsbox_job_queue_oldest_age_seconds", queue=queue) > 3
    assert value(stuck, "obsbox_job_workers", queue=queue) == 1


@pytest.fixture(scope="module")
def rq_run(procs: Callable[..., ManagedProcess], otlp: OtlpReceiver, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    queue = "invoices-rq"
    worker = start_worker(
        procs, otlp, "jobs-rq", [str(VENV_BIN / "rq"), "worker", "--url", redis_url, "--logging_level", "WARNING", queue], queue,
    )
    common = ["--url", redis_url, "--queue", queue, "--tenant", "acme"]
    for args in (
        ["render_invoice", str(RENDERS)], ["poison", str(POISONS)], ["flaky", str(FLAKY), "--retries", "1"],
        ["hang", "1", "--timeout", "1", "--seconds", "20"], ["crash", "1"],
    ):
        send(procs, otlp, ["examples.jobs.rq_app", "send", *args, *common])
    expected = {
        ("examples.jobs.rq_app.render_invoice", "success"): RENDERS,
        ("examples.jobs.rq_app.poison", "failure"): POISONS,
        ("examples.jobs.rq_app.flaky", "retry"): FLAKY,
        ("examples.jobs.rq_app.flaky", "success"): FLAKY,
        ("examples.jobs.rq_app.hang", "timeout"): 1,
        ("examples.jobs.rq_app.crash", "abandoned"): 1,
    }
    total = sum(expected.values())
    page = worker.wait(lambda p: value(p, "obsbox_job_duration_seconds_count") >= total
                       and value(p, "obsbox_job_failed_registry", queue=queue) == POISONS + 2)
    flushed_early = len(spans_of(otlp, "jobs-rq", CONSUMER, ""))
    raw = worker.raw()
    stop_main_process(worker.process, timeout=30)
    return {"queue": queue, "page": page, "raw": raw, "expected": expected, "total": total, "flushed_early": flushed_early}


def test_rq_counts_every_outcome_exactly(rq_run: dict[str, Any]) -> None:
    """Every RQ job is counted once with its outcome; the failed registry is read from Redis."""
    page, queue = rq_run["page"], rq_run["queue"]
    assert value(page, "obsbox_job_duration_seconds_count") == rq_run["total"]
    for (job, outcome), count in rq_run["expected"].items():
        assert value(page, "obsbox_job_duration_seconds_count", job_name=job, outcome=outcome, queue=queue) == count, (job, outcome)
    assert value(page, "obsbox_job_failed_registry", queue=queue) == POISONS + 2
    assert value(page, "obsbox_job_queue_lag_seconds_count", queue=queue) == rq_run["total"]


def test_rq_traces_are_complete_from_every_work_horse(rq_run: dict[str, Any], otlp: OtlpReceiver) -> None:
    """Each job's CONSUMER span (exported by its work horse before os._exit) joins its enqueuer's trace."""
    consumers = assert_complete_traces(otlp, "jobs-rq", "render_invoice", RENDERS, "acme")
    assert rq_run["flushed_early"] >= RENDERS
    assert len({s.resource["service.instance.id"] for s in consumers}) == 1
    assert len({s.resource["process.pid"] for s in consumers}) == RENDERS
    assert_no_loop_traces(otlp, "jobs-rq")


def test_jobs_rules_and_dashboard_read_what_workers_expose(celery_run: dict[str, Any], rq_run: dict[str, Any]) -> None:
    """Every metric name the jobs rules and dashboard read appears on a real Celery and a real RQ
    worker's page, with the contract's labels, and no selector uses a label these metrics lack."""
    exposed_celery = assert_scrape_matches_contract(celery_run["raw"])
    exposed_rq = assert_scrape_matches_contract(rq_run["raw"])
    read: set[str] = set()
    for expr in jobs_expressions():
        assert undeclared_labels(expr) == frozenset(), expr
        read |= {n for n in metric_names(expr) if n.startswith("obsbox_job")}
    assert read, "the jobs rules and dashboard read no job metric"
    # The failed registry is RQ's alone; everything else both libraries expose.
    assert read - {"obsbox_job_failed_registry"} <= exposed_celery, read - exposed_celery
    assert read <= exposed_rq, read - exposed_rq


def test_worker_pages_pass_the_rule_contract(celery_run: dict[str, Any]) -> None:
    """Every series name on the page is declared (the check dashboards and rules are held to)."""
    for name, _, _ in parse_page(celery_run["raw"]):
        assert contract.is_declared_series(name), name

