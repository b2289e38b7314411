"""Added latency per request of obsbox vs vanilla ``opentelemetry-instrument``, in one run.

Three modes of the demo service's ``GET /ping``: bare (no telemetry), obsbox (configure() in the
app: traces, metrics, logs over OTLP/HTTP plus the Prometheus endpoint) and vanilla
(``opentelemetry-instrument`` with the upstream distro and Flask instrumentation, the same three
signals and OTLP/HTTP exporters). All export to one real OTLP receiver in its own process.

1. HTTP, end to end: one gunicorn sync worker per mode; requests go round-robin in a shuffled
   order each round so the shared machine's noise hits the three alike; added latency is the
   median of the paired difference to the same round's bare request (client-side), with
   gunicorn's own timer (access log ``%(D)s``) as a server-side view.
2. In-process, the headline: a fresh interpreter per mode calls the WSGI app directly; per-call
   median over many calls, median over interleaved repetitions. This includes span end and
   metric recording, which run after the response is sent and so escape the HTTP timing, and
   leaves out connection noise. A CPU column (process time of all threads, export included,
   after a flush) shows the background share.
3. What dominates the rest: obsbox's CPU per request with one part off at a time (span export,
   metric export, Prometheus endpoint), and a cProfile of its request path by package and function.

Ends with the line the issue asks for::

    instrumentation overhead: obsbox=<us> vanilla=<us> ratio=<obsbox/vanilla>
"""

from __future__ import annotations

import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from examples.procs import REPO_ROOT, VENV_BIN, ManagedProcess, demo_env, free_port, gunicorn_argv

ROUNDS = int(os.environ.get("OBSBOX_BENCH_ROUNDS", "2000"))
WARMUP = 200
MODES = ("bare", "obsbox", "vanilla")
# The same pacing and signals for obsbox and vanilla: the SDK defaults, all three signals on.
SIGNALS = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
    "OTEL_SERVICE_NAME": "invoicing-demo",
}
VANILLA = {
    "OTEL_PYTHON_DISTRO": "distro",
    "OTEL_PYTHON_CONFIGURATOR": "configurator",
    "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
    "OBSBOX_DEMO_INSTRUMENT": "off",
}


def _get(port: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        t0 = time.perf_counter()
        conn.request("GET", "/ping", headers={"X-Tenant-ID": "tenant-0001"})
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
    if resp.status != 200 or body != b"pong":
        raise RuntimeError(f"/ping on {port} answered {resp.status} {body[:80]!r}")
    return elapsed


def _server_times(access_log: Path) -> list[float]:
    """gunicorn's per-request times for /ping in microseconds (access log format '%(U)s %(D)s')."""
    out = []
    for line in access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "/ping":
            out.append(float(parts[1]))
    return out


def _start(mode: str, receiver: str, run_dir: Path) -> tuple[ManagedProcess, int, Path]:
    port = free_port()
    access = run_dir / f"{mode}-access.log"
    extra = ["--access-logfile", str(access), "--access-logformat", "%(U)s %(D)s"]
    env = demo_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver,
        OBSBOX_PROMETHEUS_PORT=str(free_port()),
        OBSBOX_LOG_JSON="false",  # both write logs to the collector only, not also to stdout
        OBSBOX_DEMO_FAULTS_FILE=str(run_dir / f"{mode}-faults.json"),
        **SIGNALS,
    )
    launcher: list[str] = []
    if mode == "bare":
        env["OBSBOX_DEMO_INSTRUMENT"] = "off"
    elif mode == "vanilla":
        env.update(VANILLA)
        launcher = [str(VENV_BIN / "opentelemetry-instrument")]
    argv = gunicorn_argv(port, workers=1, launcher=launcher, extra=extra)
    proc = ManagedProcess(mode, argv, env, run_dir / f"{mode}.log").start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
    return proc, port, access


def measure(receiver: str, run_dir: Path, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """The interleaved HTTP comparison; per-mode medians and paired added latency in microseconds."""
    procs: list[ManagedProcess] = []
    try:
        started = {}
        for m in MODES:
            started[m] = _start(m, receiver, run_dir)
            procs.append(started[m][0])
        ports = {m: port for m, (_, port, _) in started.items()}
        _check_vanilla_is_instrumented(started["vanilla"][0])
        rng = random.Random(1)
        lat: dict[str, list[float]] = {m: [] for m in MODES}
        for i in range(WARMUP + rounds):
            order = list(MODES)
            rng.shuffle(order)
            got = {m: _get(ports[m]) for m in order}
            if i >= WARMUP:
                for m in MODES:
                    lat[m].append(got[m])
        server = {m: _server_times(access)[WARMUP:] for m, (_, _, access) in started.items()}
    finally:
        for p in reversed(procs):
            p.stop()
    result: dict[str, dict[str, float]] = {}
    for m in MODES:
        paired = [a - b for a, b in zip(lat[m], lat["bare"], strict=True)]
        result[m] = {
            "median_us": statistics.median(lat[m]) * 1e6,
            "p90_us": sorted(lat[m])[int(0.9 * len(lat[m]))] * 1e6,
            "added_us": statistics.median(paired) * 1e6,
            "server_median_us": statistics.median(server[m]) if server[m] else float("nan"),
        }
    for m in MODES:
        result[m]["server_added_us"] = result[m]["server_median_us"] - result["bare"]["server_median_us"]
    return result


def _wait_port(proc: ManagedProcess, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited: {proc.output()}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)  # readiness poll interval
    raise TimeoutError(f"{proc.name} never listened on {port}")


def _check_vanilla_is_instrumented(proc: ManagedProcess) -> None:
    # A silently uninstrumented "vanilla" would make any ratio meaningless.
    if "Traceback" in proc.output():
        raise RuntimeError(f"opentelemetry-instrument failed:\n{proc.output()[-3000:]}")


# -- in-process: the whole request path, span end and metric recording included -------------------

# Runs in a fresh interpreter per mode (vanilla under opentelemetry-instrument), so no telemetry
# state leaks between modes or into the benchmark runner. Calls the demo's WSGI app directly.
CALL_SCRIPT = r"""
import cProfile, io, pstats, statistics, sys, time
from examples.demo_service.service import create_app
app = create_app()
if getattr(app, "_obsbox_instrumented", False):
    print("INSTRUMENTED obsbox")
elif getattr(app, "_is_instrumented_by_opentelemetry", False):
    print("INSTRUMENTED vanilla")
else:
    print("INSTRUMENTED none")
environ_base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/ping", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "HTTP_X_TENANT_ID": "tenant-0001",
                "wsgi.errors": sys.stderr, "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"}
def start_response(status, headers, exc_info=None):
    if not status.startswith("200"):
        raise RuntimeError(status)
def call():
    env = dict(environ_base)
    env["wsgi.input"] = io.BytesIO(b"")
    body = app(env, start_response)
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close:
        close()
n = int(sys.argv[1])
for _ in range(1000):
    call()
times = []
clock = time.perf_counter_ns
cpu0 = time.process_time()
t_all = clock()
for _ in range(n):
    t0 = clock()
    call()
    times.append(clock() - t0)
total = clock() - t_all
# CPU of every thread (export threads included) until what was queued is exported; immune to
# time spent descheduled by other processes on a shared machine.
from opentelemetry import trace
flush = getattr(trace.get_tracer_provider(), "force_flush", None)
if flush is not None:
    flush()
cpu = time.process_time() - cpu0
print(f"PER_CALL_US {statistics.median(times) / 1000:.2f} {total / n / 1000:.2f} {cpu / n * 1e6:.2f}")
if len(sys.argv) > 2 and sys.argv[2] == "profile":
    prof = cProfile.Profile()
    prof.enable()
    m = n // 2
    for _ in range(m):
        call()
    prof.disable()
    stats = pstats.Stats(prof).stats
    def group(path):
        for needle, name in (("obsbox_instrumentation/", "obsbox"), ("opentelemetry/sdk/", "otel-sdk"),
                             ("opentelemetry/", "otel-api"), ("prometheus_client/", "prometheus_client"),
                             ("flask/", "flask+werkzeug"), ("werkzeug/", "flask+werkzeug"),
                             ("examples/", "demo_app")):
            if needle in path:
                return name
        return "stdlib+builtins"
    groups = {}
    funcs = []
    for (path, line, fn), (cc, nc, tt, ct, callers) in stats.items():
        groups[group(path)] = groups.get(group(path), 0.0) + tt
        if group(path) in ("obsbox", "otel-sdk", "otel-api", "prometheus_client"):
            funcs.append((tt, f"{path.split('site-packages/')[-1].split('src/')[-1]}:{line}({fn})"))
    total = sum(groups.values())
    print("PROFILE_GROUPS " + " ".join(f"{k}={v / m * 1e6:.1f}" for k, v in sorted(groups.items(), key=lambda kv: -kv[1])))
    for tt, name in sorted(funcs, reverse=True)[:10]:
        print(f"PROFILE_FUNC {tt / m * 1e6:.2f} {name}")
"""
CALLS = int(os.environ.get("OBSBOX_BENCH_CALLS", "10000"))
REPS = int(os.environ.get("OBSBOX_BENCH_REPS", "5"))


def _in_process(
    mode: str, receiver: str, profile: bool = False, overrides: dict[str, str] | None = None
) -> tuple[float, float, float, str]:
    """(median us, mean us, CPU us, output) per call of one interpreter calling /ping CALLS times in mode."""
    env = demo_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver, OBSBOX_PROMETHEUS_PORT="0", OBSBOX_LOG_JSON="false", **SIGNALS
    )
    env.update(overrides or {})
    argv = [sys.executable, "-c", CALL_SCRIPT, str(CALLS)] + (["profile"] if profile else [])
    if mode == "bare":
        env["OBSBOX_DEMO_INSTRUMENT"] = "off"
    elif mode == "vanilla":
        env.update(VANILLA)
        argv = [str(VENV_BIN / "opentelemetry-instrument"), *argv]
    proc = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} in-process run failed:\n{proc.stderr[-3000:]}")
    out = proc.stdout
    expected = {"bare": "none", "obsbox": "obsbox", "vanilla": "vanilla"}[mode]
    if f"INSTRUMENTED {expected}" not in out:
        raise RuntimeError(
            f"{mode}: the app is not instrumented as expected:\n{out[:500]}\n{proc.stderr[-2000:]}"
        )
    _, median_us, mean_us, cpu_us = next(
        line for line in out.splitlines() if line.startswith("PER_CALL_US")
    ).split()
    return float(median_us), float(mean_us), float(cpu_us), out


def measure_in_process(receiver: str) -> dict[str, dict[str, float]]:
    """Median over REPS interleaved interpreter runs of each mode's median and mean per-call time."""
    rng = random.Random(2)
    runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in MODES}
    for _ in range(REPS):
        order = list(MODES)
        rng.shuffle(order)
        for m in order:
            median_us, mean_us, cpu_us, _ = _in_process(m, receiver)
            runs[m].append((median_us, mean_us, cpu_us))
    out = {}
    for m in MODES:
        out[m] = {
            "median_us": statistics.median(r[0] for r in runs[m]),
            "mean_us": statistics.median(r[1] for r in runs[m]),
            "cpu_us": statistics.median(r[2] for r in runs[m]),
        }
    for m in MODES:
        out[m]["added_us"] = out[m]["median_us"] - out["bare"]["median_us"]
        out[m]["added_mean_us"] = out[m]["mean_us"] - out["bare"]["mean_us"]
        out[m]["added_cpu_us"] = out[m]["cpu_us"] - out["bare"]["cpu_us"]
    return out


def profile_summary(receiver: str) -> str:
    """Where obsbox's request path spends its time: cProfile own time per request, by package."""
    _, _, _, report = _in_process("obsbox", receiver, profile=True)
    lines = [
        "obsbox request path, own time per request under cProfile (inflated by the profiler), by package:"
    ]
    for line in report.splitlines():
        if line.startswith("PROFILE_GROUPS "):
            lines.append("  " + " ".join(f"{kv}us" for kv in line.split()[1:]))
        elif line.startswith("PROFILE_FUNC "):
            _, us, name = line.split(" ", 2)
            lines.append(f"    {float(us):6.2f}us  {name}")
    return "\n".join(lines)


# obsbox with one part switched off at a time: the CPU each part costs per request.
ATTRIBUTION = (
    ("span export (OTLP)", {"OTEL_TRACES_EXPORTER": "none"}),
    ("metric export (OTLP)", {"OTEL_METRICS_EXPORTER": "none"}),
    ("Prometheus endpoint", {"OBSBOX_PROMETHEUS_ENABLED": "false"}),
)


def attribution(receiver: str, full_cpu_us: float) -> str:
    """CPU per request each obsbox part costs: full obsbox minus obsbox without that part (2 runs, median)."""
    lines = ["obsbox CPU per request by part (full obsbox minus obsbox without it):"]
    for label, overrides in ATTRIBUTION:
        without = statistics.median(_in_process("obsbox", receiver, overrides=overrides)[2] for _ in range(2))
        lines.append(f"  {label:22s} {full_cpu_us - without:6.0f}us")
    return "\n".join(lines)


class _Receiver:
    """The OTLP receiver in its own process, so its decoding does not steal the benchmark's CPU time."""

    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.proc = ManagedProcess(
            "receiver",
            [sys.executable, "-m", "examples.otlp_receiver", "--port", str(self.port), "--quiet"],
            demo_env(),
            run_dir / "receiver.log",
        ).start()
        _wait_port(self.proc, self.port)
        self.endpoint = f"http://127.0.0.1:{self.port}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="obsbox-bench-") as tmp:
        receiver = _Receiver(Path(tmp))
        try:
            http_results = measure(receiver.endpoint, Path(tmp))
            for m in MODES:
                r = http_results[m]
                print(
                    f"http  {m:8s} client median={r['median_us']:.0f}us p90={r['p90_us']:.0f}us "
                    f"added={r['added_us']:.0f}us | gunicorn timer median={r['server_median_us']:.0f}us "
                    f"added={r['server_added_us']:.0f}us",
                    flush=True,
                )
            inproc = measure_in_process(receiver.endpoint)
            for m in MODES:
                r = inproc[m]
                print(
                    f"wsgi  {m:8s} per-call median={r['median_us']:.1f}us added={r['added_us']:.1f}us | "
                    f"CPU incl. export threads={r['cpu_us']:.0f}us "
                    f"added={r['added_cpu_us']:.0f}us",
                    flush=True,
                )
            try:
                print(attribution(receiver.endpoint, inproc["obsbox"]["cpu_us"]), flush=True)
                print(profile_summary(receiver.endpoint), flush=True)
            except (RuntimeError, subprocess.SubprocessError, StopIteration) as exc:
                print(f"profile unavailable: {exc}", flush=True)
        finally:
            receiver.proc.stop()
    # The headline is the in-process full path (span end and metric recording included, which
    # happen after the response is sent and so escape client-side timing); HTTP numbers above
    # cross-check it end to end, and the CPU column adds the export threads' share.
    obsbox, vanilla = inproc["obsbox"]["added_us"], inproc["vanilla"]["added_us"]
    ratio = obsbox / vanilla if vanilla > 0 else float("nan")
    print(
        f"instrumentation overhead: obsbox={obsbox:.0f} vanilla={vanilla:.0f} ratio={ratio:.2f}", flush=True
    )


if __name__ == "__main__":
    main()
