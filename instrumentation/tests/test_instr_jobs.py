"""Job signals: span and duration per job with its outcome, queue and worker gauges."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from obsbox_instrumentation import jobs


def test_job_outcomes_success_failure_retry(configure_obsbox: Any) -> None:
    """A clean run is success, an exception is failure (re-raised), job.retry() is retry."""
    configured = configure_obsbox()
    with jobs.track_job("emails", "send"):
        pass
    with pytest.raises(RuntimeError), jobs.track_job("emails", "send"):
        raise RuntimeError("smtp down")
    with jobs.track_job("emails", "send") as job:
        job.retry()
    text = configured.exposition()
    for outcome in ("success", "failure", "retry"):
        line = f'obsbox_job_duration_seconds_count{{job_name="send",outcome="{outcome}",queue="emails"}} 1.0'
        assert line in text


def test_job_runs_as_its_tenant_in_the_enqueuers_trace(configure_obsbox: Any) -> None:
    """A job given a carrier continues the enqueuer's trace; its logs carry the job's tenant."""
    configured = configure_obsbox()
    with configured.runtime.tracer.start_as_current_span("enqueue") as parent:
        carrier = jobs.inject_context({})
    with jobs.track_job("reports", "build", tenant_id="acme", carrier=carrier):
        logging.getLogger("worker").info("building")
    consumer = [s for s in configured.finished_spans() if s.kind.name == "CONSUMER"][0]
    assert consumer.context.trace_id == parent.get_span_context().trace_id
    assert consumer.attributes["tenant.id"] == "acme"
    assert configured.json_lines()[-1]["tenant_id"] == "acme"


def test_queue_stats_and_workers_gauges(configure_obsbox: Any) -> None:
    """record_queue_stats and worker_alive set the three queue gauges."""
    configured = configure_obsbox()
    jobs.record_queue_stats("emails", depth=12, oldest_age_s=3.5)
    with jobs.worker_alive("emails"):
        during = configured.exposition()
    after = configured.exposition()
    assert 'obsbox_job_queue_depth{queue="emails"} 12.0' in during
    assert 'obsbox_job_queue_oldest_age_seconds{queue="emails"} 3.5' in during
    assert 'obsbox_job_workers{queue="emails"} 1.0' in during
    assert 'obsbox_job_workers{queue="emails"} 0.0' in after


def test_jobs_api_is_inert_before_configure() -> None:
    """Before configure() the job body still runs and nothing is recorded or raised."""
    ran = []
    with jobs.track_job("q", "j") as job:
        ran.append(job.outcome)
    jobs.record_queue_stats("q", 1, 1.0)
    assert ran == [None]
