"""What a new user meets on first start, in real processes: plain gunicorn without obsbox's
wiring, no collector running, a typo in an exporter variable, an installed instrumentation
package for a library that is absent, and opentelemetry-instrument without a service name."""

from __future__ import annotations

import http.client
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.otlp_receiver import OtlpReceiver
from examples.procs import VENV_BIN, ManagedProcess, demo_env, free_port, http_status

APPS = Path(__file__).resolve().parent / "apps"
SIGNALS = ("traces", "metrics", "logs")
NO_EXPORT = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


def app_env(**overrides: str) -> dict[str, str]:
    env = demo_env()
    env["PYTHONPATH"] = str(APPS) + ":" + env["PYTHONPATH"]
    env.update(overrides)
    return env


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Tenant-ID": "acme"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def complaints(output: str) -> list[str]:
    """Warning and error lines: obsbox's JSON lines at warning or above, and any other line that
    says WARNING, ERROR or Traceback (gunicorn's and Python's own formats)."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            if json.loads(line).get("level") in ("warning", "error", "critical"):
                found.append(line)
        elif any(word in line for word in ("WARNING", "ERROR", "Traceback")):
            found.append(line)
    return found


@pytest.fixture(params=["gunicorn", "uvicorn"])
def plain_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ManagedProcess, int, int]]:
    """`gunicorn -w 2` or `uvicorn --workers 2`, without obsbox's launcher or hooks."""
    server = request.param
    framework, app = ("flask", "flask_app:app") if server == "gunicorn" else ("fastapi", "fastapi_app:app")
    importlib.import_module(framework)  # a dev dependency: missing means a broken set-up
    port, metrics_port = free_port(), free_port()
    # TMPDIR: the once-per-server warning marker lands in the test's directory, not in /tmp.
    env = app_env(
        OTEL_SERVICE_NAME="svc-plain", OBSBOX_PROMETHEUS_PORT=str(metrics_port), TMPDIR=str(tmp_path), **NO_EXPORT
    )
    if server == "gunicorn":
        argv = [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "2", app]
    else:
        argv = [str(VENV_BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--workers", "2", app]
    proc = ManagedProcess(f"plain-{server}", argv, env, tmp_path / "server.log").start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/v1/items/0", timeout=60)
        yield server, proc, port, metrics_port
    finally:
        proc.stop()


def test_plain_prefork_workers_serve_no_partial_metrics_and_say_how_once(
    plain_server: tuple[str, ManagedProcess, int, int],
) -> None:
    """Two workers without the launcher or hooks: nothing answers on the metrics port, and one line names the fixes."""
    server, proc, port, metrics_port = plain_server
    pids: set[int] = set()
    deadline = time.monotonic() + 60
    for _ in range(400):
        if len(pids) == 2 or time.monotonic() > deadline:
            break
        status, body = get(port, "/v1/items/1")
        assert status == 200, body
        pids.add(json.loads(body)["pid"])
    assert len(pids) == 2, "both workers must have configured (they serve requests) before checking"
    assert http_status(f"http://127.0.0.1:{metrics_port}/metrics") is None
    lines = [line for line in proc.output().splitlines() if "not serving /metrics" in line]
    assert len(lines) == 1, proc.output()[-3000:]
    assert f"obsbox-instrument {server}" in lines[0]
    if server == "gunicorn":
        assert "python:obsbox_instrumentation.gunicorn" in lines[0]


def test_plain_gunicorn_single_worker_still_serves_its_metrics(tmp_path: Path) -> None:
    """`gunicorn app:app` with its default single worker holds every count, so it serves /metrics with all requests."""
    importlib.import_module("flask")  # a dev dependency: missing means a broken set-up
    port, metrics_port = free_port(), free_port()
    env = app_env(OTEL_SERVICE_NAME="svc-single", OBSBOX_PROMETHEUS_PORT=str(metrics_port), **NO_EXPORT)
    argv = [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "flask_app:app"]
    proc = ManagedProcess("single-gunicorn", argv, env, tmp_path / "gunicorn.log").start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/v1/items/0", timeout=60)
        for _ in range(5):
            assert get(port, "/v1/items/1")[0] == 200

        def count() -> float:
            status, body = get(metrics_port, "/metrics")
            assert status == 200
            return sum(
                float(x.rsplit(" ", 1)[1]) for x in body.decode().splitlines()
                if x.startswith("http_server_request_duration_seconds_count{") and 'tenant_id="acme"' in x
            )

        # Each request is recorded just after its last byte is sent: wait (bounded) for the last.
        deadline = time.monotonic() + 10
        while count() < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling interval of a bounded wait
        assert count() == 5
        assert "not serving /metrics" not in proc.output()
    finally:
        proc.stop()


def _failures(page: str, signal: str) -> float:
    prefix = f'obsbox_telemetry_export_failures_total{{signal="{signal}"}} '
    return sum(float(line[len(prefix):]) for line in page.splitlines() if line.startswith(prefix))


def test_no_collector_gives_one_line_per_signal_then_quiet_counting(tmp_path: Path) -> None:
    """With nothing listening on the OTLP port, the log gets one line per signal (where, how to turn
    export off) and no other warning, while the failure counter keeps counting."""
    importlib.import_module("flask")  # a dev dependency: missing means a broken set-up
    port, metrics_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = app_env(
        OTEL_SERVICE_NAME="svc-no-collector", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OBSBOX_PROMETHEUS_PORT=str(metrics_port), OBSBOX_EXPORT_TIMEOUT="1",
        OTEL_BSP_SCHEDULE_DELAY="200", OTEL_BLRP_SCHEDULE_DELAY="200", OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    argv = [
        str(VENV_BIN / "gunicorn"), "-c", "python:obsbox_instrumentation.gunicorn",
        "-b", f"127.0.0.1:{port}", "-w", "1", "flask_app:app",
    ]
    proc = ManagedProcess("no-collector", argv, env, tmp_path / "gunicorn.log").start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/v1/items/0", timeout=60)
        deadline = time.monotonic() + 90
        page = ""
        for i in range(5000):
            if time.monotonic() > deadline:
                break
            assert get(port, "/v1/items/1")[0] == 200
            if i % 25 == 0:
                _, raw = get(metrics_port, "/metrics")
                page = raw.decode()
                if all(_failures(page, s) >= 3 for s in SIGNALS):
                    break
        assert all(_failures(page, s) >= 3 for s in SIGNALS), page
        found = complaints(proc.output())
        for signal in SIGNALS:
            mine = [line for line in found if f"cannot export {signal} to {endpoint}" in line]
            assert len(mine) == 1, found
            assert f"OTEL_{signal.upper()}_EXPORTER=none" in mine[0]
        assert len(found) == len(SIGNALS), found
    finally:
        proc.stop()


def test_exporter_typo_is_named_and_the_program_still_runs() -> None:
    """`obsbox-instrument` with OTEL_TRACES_EXPORTER=otpl says which variable is wrong; the program runs without telemetry."""
    env = app_env(OTEL_TRACES_EXPORTER="otpl", OBSBOX_PROMETHEUS_ENABLED="false")
    done = subprocess.run(
        [str(VENV_BIN / "obsbox-instrument"), sys.executable, "-c", "print('program ran')"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "program ran" in done.stdout
    assert "OTEL_TRACES_EXPORTER='otpl': expected one of otlp, console, none" in done.stderr


@pytest.mark.parametrize("launcher", ["configure", "opentelemetry-instrument"])
def test_absent_library_of_an_installed_instrumentation_is_not_an_error(launcher: str) -> None:
    """With opentelemetry-instrumentation-httpx installed (it also ships an httpx2 instrumentor), a start logs no error and nothing about httpx2."""
    assert importlib.util.find_spec("opentelemetry.instrumentation.httpx") is not None, (
        "opentelemetry-instrumentation-httpx is missing: make setup installs the dev dependencies"
    )
    env = app_env(OBSBOX_PROMETHEUS_ENABLED="false", OTEL_SERVICE_NAME="svc-start", **NO_EXPORT)
    code = "import obsbox_instrumentation as o; r = o.configure(); print('instrumented', sorted(r.instrumented))"
    if launcher == "configure":
        argv = [sys.executable, "-c", code]
    else:
        env.update(OTEL_PYTHON_DISTRO="obsbox", OTEL_PYTHON_CONFIGURATOR="obsbox")
        argv = [str(VENV_BIN / "opentelemetry-instrument"), sys.executable, "-c", code]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "instrumented" in done.stdout
    output = done.stdout + done.stderr
    # Under opentelemetry-instrument with opentelemetry-distro also installed, upstream's loader
    # warns that it did not load the second configurator: true, and not obsbox's to silence.
    found = [line for line in complaints(output) if "Configuration of configurator not loaded" not in line]
    assert found == [], output
    assert "httpx2" not in output


def test_service_name_under_opentelemetry_instrument_gunicorn_is_the_app_module(
    tmp_path: Path, otlp: OtlpReceiver
) -> None:
    """`opentelemetry-instrument gunicorn ... flask_app:app` without OTEL_SERVICE_NAME names the service after the app module, not gunicorn."""
    importlib.import_module("flask")  # a dev dependency: missing means a broken set-up
    port = free_port()
    env = app_env(
        OTEL_PYTHON_DISTRO="obsbox", OTEL_PYTHON_CONFIGURATOR="obsbox", OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OBSBOX_PROMETHEUS_PORT=str(free_port()), OTEL_BSP_SCHEDULE_DELAY="200",
    )
    argv = [
        str(VENV_BIN / "opentelemetry-instrument"), str(VENV_BIN / "gunicorn"), "-c",
        "python:obsbox_instrumentation.gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "flask_app:app",
    ]
    # A directory without pyproject.toml, as a deployed service's often is.
    proc = ManagedProcess("otel-instrument", argv, env, tmp_path / "gunicorn.log", cwd=tmp_path).start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/v1/items/0", timeout=60)
        assert get(port, "/v1/items/5")[0] == 200

        def names() -> set[str]:
            return {
                str(s.resource.get("service.name")) for s in otlp.spans() if s.attributes.get("url.path") == "/v1/items/5"
            }

        assert otlp.wait_for(lambda: bool(names())), proc.output()[-3000:]
        assert names() == {"flask_app"}
    finally:
        proc.stop()
