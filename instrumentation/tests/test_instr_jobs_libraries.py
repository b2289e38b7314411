"""The pure parts of the Celery/RQ integration: broker payload parsing, lag, settings, the
post-import hook, and job runs reported by a supervising process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from obsbox_instrumentation import celeryhook, importhook, jobs, queues


def test_celery_envelope_enqueue_time_is_read_from_the_header() -> None:
    """kombu's JSON envelope as Redis holds it: obsbox's header is the enqueue time; junk is None."""
    envelope = json.dumps({"body": "e30=", "headers": {"task": "t", queues.ENQUEUED_AT_HEADER: 1700000000.5}})
    assert queues.celery_message_enqueued_at(envelope.encode()) == 1700000000.5
    assert queues.celery_message_enqueued_at(json.dumps({"headers": {}})) is None
    assert queues.celery_message_enqueued_at(b"not json") is None
    assert queues.celery_message_enqueued_at(None) is None


def test_rq_enqueued_at_is_utc() -> None:
    """RQ's enqueued_at text is UTC with or without microseconds."""
    ten = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC).timestamp()
    assert queues.rq_enqueued_at(b"2026-11-28T10:00:00.250000Z") == ten + 0.25
    assert queues.rq_enqueued_at("2026-11-28T10:00:00Z") == ten
    assert queues.rq_enqueued_at("yesterday") is None


def test_lag_counts_from_the_eta_when_it_is_later() -> None:
    """A job scheduled for later waits from its ETA, not from the enqueue."""
    now = 1000.0
    assert celeryhook.lag_seconds(990.0, None, now) == 10.0
    assert celeryhook.lag_seconds(990.0, "1970-01-01T00:16:35+00:00", now) == 5.0  # ETA 995
    assert celeryhook.lag_seconds(None, None, now) is None
    assert celeryhook.lag_seconds(1005.0, None, now) == 0.0  # clock skew never goes negative


def test_queue_interval_setting() -> None:
    """Default 15 s, 0 turns reading off, anything else is an error naming the variable."""
    assert queues.interval_from_env({}) == 15.0
    assert queues.interval_from_env({"OBSBOX_JOBS_QUEUE_INTERVAL": "0"}) == 0.0
    with pytest.raises(ValueError, match="OBSBOX_JOBS_QUEUE_INTERVAL='soon'"):
        queues.interval_from_env({"OBSBOX_JOBS_QUEUE_INTERVAL": "soon"})
    with pytest.raises(ValueError, match="must be 0"):
        queues.interval_from_env({"OBSBOX_JOBS_QUEUE_INTERVAL": "-1"})


def test_celery_request_carrier_and_queue() -> None:
    """Propagation headers and the routing key are read from a request dict or object."""
    request = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "baggage": "tenant.id=acme",
               "delivery_info": {"routing_key": "emails"}, "other": 1}
    assert celeryhook.carrier_of(request) == {"traceparent": request["traceparent"], "baggage": "tenant.id=acme"}
    assert celeryhook.queue_of(request) == "emails"
    assert celeryhook.queue_of({}) == "celery"


def test_post_import_hook_runs_after_the_module_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A callback registered before the import runs once the module executed, with its names set."""
    (tmp_path / "obsbox_fake_lib.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[int] = []
    importhook.when_imported("obsbox_fake_lib", lambda: seen.append(sys.modules["obsbox_fake_lib"].VALUE))
    assert seen == []
    import obsbox_fake_lib  # noqa: F401

    assert seen == [42]
    importhook.when_imported("obsbox_fake_lib", lambda: seen.append(0))  # already imported: at once
    assert seen == [42, 0]
    sys.modules.pop("obsbox_fake_lib", None)


def test_configure_does_not_import_celery_or_rq() -> None:
    """The integrations wait for the application to import the library (start-up stays cheap),
    then apply: checked in a fresh interpreter."""
    code = (
        "import sys, obsbox_instrumentation as o; o.configure(prometheus=False); "
        "before = ('celery' in sys.modules, 'rq' in sys.modules); "
        "import celery.signals, rq.queue; "
        "print(before, len(celery.signals.task_prerun.receivers), rq.queue.Queue.enqueue_job.__qualname__)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBSBOX_"))}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[-2] == "(False, False) 1 _enqueue_job.<locals>.enqueue_job", out.stdout + out.stderr


def test_supervisor_reports_a_run_in_the_enqueuers_trace(configure_obsbox: Any) -> None:
    """record_finished_job: a CONSUMER span under the carrier's trace, ERROR, with the outcome counted."""
    configured = configure_obsbox()
    with configured.runtime.tracer.start_as_current_span("enqueue") as parent:
        carrier = jobs.inject_context({})
    jobs.record_finished_job("exports", "render", "timeout", 2.5, carrier=carrier, error="hard time limit")
    [span] = [s for s in configured.finished_spans() if s.kind.name == "CONSUMER"]
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.attributes["job.outcome"] == "timeout" and span.status.status_code.name == "ERROR"
    assert abs((span.end_time - span.start_time) / 1e9 - 2.5) < 0.01
    assert 'obsbox_job_duration_seconds_count{job_name="render",outcome="timeout",queue="exports"} 1.0' in configured.exposition()


def test_started_job_finishes_once_and_discard_records_nothing(configure_obsbox: Any) -> None:
    """start_job/finish (signal-driven integrations): one span, one count; discard() neither."""
    configured = configure_obsbox()
    job = jobs.start_job("emails", "send", tenant_id="acme")
    job.finish("retry")
    job.finish("success")  # a second end is ignored
    other = jobs.start_job("emails", "send")
    other.discard()
    text = configured.exposition()
    assert 'obsbox_job_duration_seconds_count{job_name="send",outcome="retry",queue="emails"} 1.0' in text
    assert 'outcome="success"' not in text
    spans = [s for s in configured.finished_spans() if s.kind.name == "CONSUMER"]
    assert len(spans) == 1 and spans[0].attributes["tenant.id"] == "acme"
    jobs.record_lag("emails", "send", 3.0)
    assert 'obsbox_job_queue_lag_seconds_count{job_name="send",queue="emails"} 1.0' in configured.exposition()


def test_flush_process_exports_pending_spans(configure_obsbox: Any) -> None:
    """What a pool child calls before os._exit: the span batch reaches the exporter now."""
    configured = configure_obsbox()
    with jobs.track_job("emails", "send"):
        pass
    jobs.flush_process(2.0)
    assert [s.name for s in configured.spans.get_finished_spans()] == ["process emails send"]
