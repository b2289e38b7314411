"""The service dashboards show data for the real demo under load, scraped by a real Prometheus.

The backfilled data of the other tier-2 tests is shaped after the contract; here the series come
from the instrumentation itself (gunicorn serving the demo app, its payments dependency, the
report worker on a Redis queue, injected 5xx and job failures), so the label values dashboards
rely on (api_version "v1", route templates, tenant ids, queue names, outcomes, bucket bounds) are
the ones services really emit.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards import api_versions, jobs, service_overview, tenants
from dashboards._queries import Query, interpolate, queries
from examples.loadgen import run_load
from examples.otlp_receiver import OtlpReceiver
from examples.payments_service import PaymentsServer
from examples.procs import ManagedProcess, demo_env, free_port, gunicorn_argv, redis_argv, wait_until

JOB = "invoicing-demo"
WORKER_JOB = "invoicing-worker"
REQUESTS = 300
# The report jobs the load enqueues that the worker must have finished before queries run.
MIN_JOBS = 10
RQ_JOB = "invoicing-demo-rq"
LAUNCHER = str(Path(sys.executable).parent / "obsbox-instrument")
RQ = str(Path(sys.executable).parent / "rq")
# Dashboards fed by a web service and its job worker (not by exporters or recording rules).
SERVICE_DASHBOARDS = (service_overview, api_versions, tenants, jobs)
LIVE_QUERIES = [
    (query, interpolate(query.expr, model))
    for model in (m.build() for m in SERVICE_DASHBOARDS)
    for query in queries(model)
    if query.datasource == "prometheus"
]


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=30) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.fixture(scope="module")
def live_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prometheus scraping the demo and its worker every 500 ms, after load with injected faults; its URL."""
    if shutil.which("prometheus") is None or shutil.which("redis-server") is None:
        pytest.skip("prometheus or redis-server is not installed (Debian packages prometheus, redis-server)")
    work: Path = tmp_path_factory.mktemp("live-demo")
    (work / "prom-multiproc").mkdir()
    (work / "worker-multiproc").mkdir()
    (work / "rq-multiproc").mkdir()
    faults = {"rules": [{"route": "*", "tenant": "*", "error_rate": 0.1}], "jobs": {"fail_rate": 0.2}}
    (work / "faults.json").write_text(json.dumps(faults))
    port, metrics_port, worker_port, redis_port, prom_port, rq_port = (free_port() for _ in range(6))
    config = {
        "global": {"scrape_interval": "500ms", "scrape_timeout": "400ms"},
        "scrape_configs": [
            {"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]},
            {"job_name": WORKER_JOB, "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
            # Invoice renders run as RQ jobs (the zero-code path): queue lag, broker and failed registry.
            {"job_name": RQ_JOB, "static_configs": [{"targets": [f"127.0.0.1:{rq_port}"]}]},
        ],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    processes: list[ManagedProcess] = []
    with OtlpReceiver() as otlp, PaymentsServer() as payments:
        env = demo_env(
            OTEL_SERVICE_NAME=JOB,
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OBSBOX_PROMETHEUS_PORT=str(metrics_port),
            PROMETHEUS_MULTIPROC_DIR=str(work / "prom-multiproc"),
            OBSBOX_DEMO_FAULTS_FILE=str(work / "faults.json"),
            OBSBOX_DEMO_PAYMENTS_URL=payments.url,
            OBSBOX_DEMO_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        )
        worker_env = {
            **env,
            "OBSBOX_PROMETHEUS_PORT": str(worker_port),
            "PROMETHEUS_MULTIPROC_DIR": str(work / "worker-multiproc"),
        }
        try:
            processes.append(ManagedProcess("redis", redis_argv(redis_port, work), demo_env(), work / "redis.log").start())
            demo = ManagedProcess("demo", gunicorn_argv(port, workers=1), env, work / "demo.log").start()
            processes.append(demo)
            worker = ManagedProcess(
                "worker",
                [sys.executable, "-m", "examples.demo_service.worker", "--duration", "120"],
                worker_env,
                work / "worker.log",
            ).start()
            processes.append(worker)
            rq_env = {
                **env,
                "OTEL_SERVICE_NAME": RQ_JOB,
                "OBSBOX_PROMETHEUS_PORT": str(rq_port),
                "PROMETHEUS_MULTIPROC_DIR": str(work / "rq-multiproc"),
                "OBSBOX_JOBS_QUEUE_INTERVAL": "1",
            }
            rq_argv = [LAUNCHER, RQ, "worker", "--url", f"redis://127.0.0.1:{redis_port}/0", "invoices"]
            rq_worker = ManagedProcess("rq-worker", rq_argv, rq_env, work / "rq-worker.log").start()
            processes.append(rq_worker)
            demo.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
            worker.wait_http(f"http://127.0.0.1:{worker_port}/metrics", timeout=60)
            rq_worker.wait_http(f"http://127.0.0.1:{rq_port}/metrics", timeout=60)
            prom = ManagedProcess(
                "prometheus",
                [
                    shutil.which("prometheus") or "prometheus",
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--log.level=warn",
                ],
                demo_env(),
                work / "prometheus.log",
            ).start()
            processes.append(prom)
            url = f"http://127.0.0.1:{prom_port}"
            prom.wait_http(f"{url}/-/ready", timeout=60)
            summary = run_load(
                f"http://127.0.0.1:{port}",
                max_requests=REQUESTS,
                duration_s=60,
                rps=150,
                tenants=5,
                routes="v1_list:3,v1_get:3,v2_list:2,v2_report:2",
                concurrency=4,
                seed=7,
            )
            assert summary.sent == REQUESTS, summary.line()
            total = f'sum(http_server_request_duration_seconds_count{{job="{JOB}"}})'
            # rate() needs two scrapes that both saw the whole load.
            assert wait_until(
                lambda: bool(r := _query(url, total)) and float(r[0]["value"][1]) >= REQUESTS, timeout=30
            ), "Prometheus never saw all requests"
            finished = "sum(obsbox_job_duration_seconds_count)"
            assert wait_until(
                lambda: bool(r := _query(url, finished)) and float(r[0]["value"][1]) >= MIN_JOBS, timeout=60
            ), f"the worker never finished {MIN_JOBS} jobs:\n{worker.output()[-2000:]}"
            # Renders spread over several scrapes, so rate() over the lag histogram sees it grow
            # (the first sample of a series that appears with a job already counted shows none).
            accepted = 0
            for i in range(30):  # the injected 10% errors answer some of them with a 500
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v2/invoices/late-{i}/render", method="POST", headers={"X-Tenant-ID": "acme"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        accepted += response.status == 202
                except urllib.error.HTTPError:
                    pass
                if accepted >= 8:
                    break
                time.sleep(0.5)
            assert accepted >= 8, f"only {accepted} of 30 renders were accepted"
            rendered = f'sum(obsbox_job_queue_lag_seconds_count{{job="{RQ_JOB}"}})'
            assert wait_until(
                lambda: bool(r := _query(url, rendered)) and float(r[0]["value"][1]) >= 1
                and bool(_query(url, "obsbox_job_failed_registry")) and bool(_query(url, "obsbox_job_broker_up")),
                timeout=60,
            ), f"the RQ worker never reported its jobs and queue:\n{rq_worker.output()[-2000:]}"
            growing = f'sum(increase(obsbox_job_queue_lag_seconds_count{{job="{RQ_JOB}"}}[1m]))'
            assert wait_until(
                lambda: bool(r := _query(url, growing)) and float(r[0]["value"][1]) > 0, timeout=30
            ), f"Prometheus never saw the lag histogram grow:\n{rq_worker.output()[-2000:]}"
            # ...and one more scrape after that, so the newest two samples both hold the full count.
            settled = time.time()
            assert wait_until(
                lambda: float(_query(url, f'timestamp(up{{job="{JOB}"}})')[0]["value"][1]) > settled + 0.6, timeout=10
            ), "Prometheus stopped scraping the demo"
            yield url
        finally:
            for process in reversed(processes):
                process.stop()


@pytest.mark.parametrize(("query", "expr"), LIVE_QUERIES, ids=[str(q) for q, _ in LIVE_QUERIES])
def test_http_dashboard_query_shows_the_live_service(query: Query, expr: str, live_prometheus: str) -> None:
    """The panel's query, with the dashboard's default variables, returns a finite value for the live demo."""
    result = _query(live_prometheus, expr)
    values = [float(series["value"][1]) for series in result]
    assert values, f"{query}: no series for {expr}"
    assert any(math.isfinite(v) for v in values), f"{query}: only NaN/Inf: {values}"
