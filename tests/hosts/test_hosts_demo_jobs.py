"""The demo's background jobs on a throwaway host: the service enqueues invoice renders to RQ on
the host's redis-server, `obsbox-instrument rq worker` runs them, Prometheus on the host scrapes
the worker's job metrics, and poison jobs page JobFailureRatioHigh through Alertmanager."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

from obsbox.hosts import demo_app
from obsbox.hosts.stack import PORTS, StackHost

# JobFailureRatioHigh is evaluated every minute and holds `for: 3m`: pending within a minute or
# two of the first failures, firing three minutes later, then Alertmanager's group_wait.
JOB_ALERT_TIMEOUT_S = 480.0
RENDER_JOB = "examples.demo_service.invoices.render_invoice"
WORKER = f'job="{demo_app.WORKER_JOB}",queue="{demo_app.JOB_QUEUE}"'


def _query(stack: StackHost, promql: str) -> list[dict]:
    out = stack.host.run(f"curl -fsS 'http://127.0.0.1:{PORTS['prometheus']}/api/v1/query?query={quote(promql, safe='')}'").stdout
    result: list[dict] = json.loads(out)["data"]["result"]
    return result


def _wait_value(stack: StackHost, promql: str, timeout: float) -> float:
    """The query's single value once it is above 0, else the last value seen (0 when absent)."""
    deadline = time.monotonic() + timeout
    value = 0.0
    while time.monotonic() < deadline:
        result = _query(stack, promql)
        value = float(result[0]["value"][1]) if result else 0.0
        if value > 0:
            return value
        time.sleep(2)
    return value


def test_redis_broker_listens_on_loopback_only(stack_host: StackHost) -> None:
    """redis-server (from the host image) is active and bound to loopback only."""
    host = stack_host.host
    assert host.run("systemctl is-active redis-server.service", check=False).stdout.strip() == "active"
    bind = host.run("redis-cli --raw CONFIG GET bind").stdout.split()
    assert bind[0] == "bind" and bind[1:], bind
    assert set(bind[1:]) <= {"127.0.0.1", "::1", "-::1"}, bind


def test_worker_renders_invoices_and_prometheus_scrapes_its_job_metrics(stack_host: StackHost) -> None:
    """The load's render requests become RQ jobs that the worker unit runs to success; Prometheus
    scrapes the worker (up == 1) and sees the successes, queue lag, a live worker and a reachable broker."""
    host = stack_host.host
    assert host.run("systemctl is-active obsbox-demo-worker.service", check=False).stdout.strip() == "active"
    successes = _wait_value(
        stack_host, f'sum(obsbox_job_duration_seconds_count{{{WORKER},job_name="{RENDER_JOB}",outcome="success"}})', 120
    )
    assert successes > 0
    assert [float(r["value"][1]) for r in _query(stack_host, f'up{{job="{demo_app.WORKER_JOB}"}}')] == [1.0]
    assert _wait_value(stack_host, f"sum(obsbox_job_queue_lag_seconds_count{{{WORKER}}})", 30) > 0
    assert _wait_value(stack_host, f"max(obsbox_job_workers{{{WORKER}}})", 30) == 1.0
    assert _wait_value(stack_host, f"max(obsbox_job_broker_up{{{WORKER}}})", 30) == 1.0
    # The count keeps growing: jobs are processed continuously, not a one-off.
    time.sleep(6)
    later = _wait_value(
        stack_host, f'sum(obsbox_job_duration_seconds_count{{{WORKER},job_name="{RENDER_JOB}",outcome="success"}})', 30
    )
    assert later > successes


def test_poison_jobs_page_job_failure_ratio_to_the_webhook(stack_host: StackHost) -> None:
    """Half the renders injected as poison jobs fail in the worker; JobFailureRatioHigh fires for
    the worker's queue and Alertmanager sends it to the ticket webhook."""
    demo_app.set_faults(stack_host.host, demo_app.job_incident(fail_rate=0.5))
    try:
        got = stack_host.inbox.wait_for_alert("JobFailureRatioHigh", timeout=JOB_ALERT_TIMEOUT_S)
        failures = _query(stack_host, f'sum(obsbox_job_duration_seconds_count{{{WORKER},outcome="failure"}})')
    finally:
        demo_app.set_faults(stack_host.host, {})
    assert got is not None, f"no JobFailureRatioHigh within {JOB_ALERT_TIMEOUT_S:.0f}s; received: {stack_host.inbox.received}"
    path, alert = got
    assert path == "/ticket"
    assert alert["labels"]["job"] == demo_app.WORKER_JOB
    assert alert["labels"]["queue"] == demo_app.JOB_QUEUE
    assert failures and float(failures[0]["value"][1]) > 0
