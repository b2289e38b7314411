"""Pre-fork behaviour: one aggregated pull view across forked workers, per-start freshness."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from obsbox_instrumentation import jobs, prefork
from obsbox_instrumentation.tenant import ADMISSION_FILE


def _in_child(fn: Any) -> int:
    """Run fn in a forked child that exits without cleanup (like a killed worker); its status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 0
        try:
            fn()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_dead_workers_counts_still_count(configure_obsbox: Any) -> None:
    """Observations from a worker that has exited are still in the master's scrape."""
    configured = configure_obsbox()
    recorder = configured.runtime.recorder

    def worker() -> None:
        for _ in range(3):
            recorder.http_server("/x", "GET", 200, "", "__none__", 0.01)

    assert _in_child(worker) == 0
    assert _in_child(worker) == 0
    recorder.http_server("/x", "GET", 200, "", "__none__", 0.01)
    text = configured.exposition()
    assert 'http_server_request_duration_seconds_count{api_version="",http_request_method="GET",http_response_status_code="200",http_route="/x",tenant_id="__none__"} 7.0' in text


def test_forked_child_rebuilds_its_exporter(configure_obsbox: Any) -> None:
    """The child builds its own exporter on its first export; the parent, which never exported, built none."""
    configured = configure_obsbox()
    batcher = configured.runtime.tracer_provider._active_span_processor._span_processors[0].batcher
    built: list[int] = []
    original_factory = batcher._factory

    def factory() -> Any:
        built.append(os.getpid())
        return original_factory()

    batcher._factory = factory
    batcher._prepare = None  # the item below is not a span; only the exporter matters here

    def child() -> None:
        batcher.put("item")
        assert batcher.force_flush(5.0)
        assert built == [os.getpid()]

    assert _in_child(child) == 0
    assert built == []


def test_dead_worker_leaves_the_workers_gauge(configure_obsbox: Any) -> None:
    """A worker process marked dead stops counting in obsbox_job_workers (livesum)."""
    configured = configure_obsbox()
    read, write = os.pipe()

    def worker() -> None:
        jobs.set_workers("emails", 1)
        os.write(write, str(os.getpid()).encode())

    assert _in_child(worker) == 0
    child_pid = int(os.read(read, 32))
    os.close(read)
    os.close(write)
    assert 'obsbox_job_workers{queue="emails"} 1.0' in configured.exposition()
    prefork.worker_exited(child_pid)
    assert 'obsbox_job_workers{queue="emails"} 1.0' not in configured.exposition()


def test_prepare_master_empties_a_given_directory(tmp_path: Path) -> None:
    """A user-given PROMETHEUS_MULTIPROC_DIR loses last start's files, so counts start at zero."""
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / ADMISSION_FILE).write_text("old-tenant\n")
    (tmp_path / "keep.txt").write_text("not ours")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "OBSBOX_PROMETHEUS_PORT": "0"}
    state = prefork.prepare_master(env)
    try:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
        assert env["OBSBOX_SERVICE_INSTANCE_ID"] == state.instance_id
        assert state.server is not None and state.server.address[0] == "127.0.0.1"
        assert env["OBSBOX_METRICS_SERVER_PID"] == str(os.getpid())
    finally:
        prefork.finish_master(state)
    assert tmp_path.exists()  # not ours to delete


def test_prepare_master_creates_and_removes_its_own_directory() -> None:
    """Without PROMETHEUS_MULTIPROC_DIR the master creates one, exports it, and removes it at exit."""
    env = {"OBSBOX_PROMETHEUS_ENABLED": "false"}
    state = prefork.prepare_master(env)
    assert env["PROMETHEUS_MULTIPROC_DIR"] == state.multiproc_dir and os.path.isdir(state.multiproc_dir)
    prefork.finish_master(state)
    assert not os.path.exists(state.multiproc_dir)


def test_forked_worker_keeps_the_instance_id_and_gets_its_pid(configure_obsbox: Any) -> None:
    """After fork, SDK and lean spans and logs keep service.instance.id but carry the worker's pid."""
    configured = configure_obsbox()
    runtime = configured.runtime
    expected = runtime.resource_attributes["service.instance.id"]
    read, write = os.pipe()

    def worker() -> None:
        # obsbox's own resources (lean server spans, OTLP logs) always follow the worker's pid;
        # the SDK providers' resources do where the SDK refreshes them after fork (>= 1.4x).
        own = [p._resource for p in runtime.tracer_provider._active_span_processor._span_processors]
        own += [h._resource for h in runtime.log_handlers if hasattr(h, "convert")]
        sdk = [runtime.tracer_provider.resource, runtime.logger_provider.resource]
        ok = all(r.attributes["process.pid"] == os.getpid() for r in own) and all(
            r.attributes["service.instance.id"] == expected for r in own + sdk
        )
        os.write(write, b"1" if ok else b"0")

    assert _in_child(worker) == 0
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
    assert runtime.tracer_provider.resource.attributes["process.pid"] == os.getpid()
