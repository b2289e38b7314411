"""Added time per Celery task of obsbox vs upstream's opentelemetry-instrumentation-celery, in one run.

Three modes, each in fresh interpreters: bare (no telemetry), obsbox (configure(): traces,
metrics and logs over OTLP/HTTP plus the Prometheus endpoint) and vanilla (the OpenTelemetry SDK
with OTLP/HTTP exporters for the same three signals and ``CeleryInstrumentor().instrument()``).
All export to one real OTLP receiver in its own process.

One task = what both instrumentations hook: the producer side (``apply_async`` on kombu's
in-memory transport: before/after_task_publish) plus the consumer side (``apply``: Celery's
tracer with task_prerun/task_postrun, the same code a pool process runs). The per-task time is the
median over many calls; the added time is the median over interleaved repetitions minus bare's.
Ends with::

    jobs overhead: obsbox=<us> vanilla=<us> ratio=<obsbox/vanilla>
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_instrumentation import SIGNALS, _Receiver
from examples.procs import REPO_ROOT, demo_env

MODES = ("bare", "obsbox", "vanilla")
CALLS = int(os.environ.get("OBSBOX_BENCH_JOB_CALLS", "4000"))
REPS = int(os.environ.get("OBSBOX_BENCH_REPS", "5"))

TASK_SCRIPT = r"""
import statistics, sys, time
mode = sys.argv[2]
if mode == "obsbox":
    import obsbox_instrumentation
    obsbox_instrumentation.configure(log_json=False)
elif mode == "vanilla":
    from opentelemetry import metrics, trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    import logging
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]))
    logs = LoggerProvider()
    logs.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    set_logger_provider(logs)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logs))
    # The level obsbox sets (OBSBOX_LOG_LEVEL's default): both export the same log records.
    logging.getLogger().setLevel(logging.INFO)
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    CeleryInstrumentor().instrument()
from celery import Celery
app = Celery("bench", broker="memory://")
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)

@app.task(name="render_invoice")
def render_invoice(n):
    return n

def one(i):
    render_invoice.apply_async((i,))
    render_invoice.apply((i,))

n = int(sys.argv[1])
for i in range(500):
    one(i)
times = []
clock = time.perf_counter_ns
for i in range(n):
    t0 = clock()
    one(i)
    times.append(clock() - t0)
from opentelemetry import trace as _t
flush = getattr(_t.get_tracer_provider(), "force_flush", None)
if flush is not None:
    flush()
print(f"PER_TASK_US {statistics.median(times) / 1000:.2f}")
"""


def _run(mode: str, receiver: str) -> float:
    env = demo_env(OTEL_EXPORTER_OTLP_ENDPOINT=receiver, OBSBOX_PROMETHEUS_PORT="0", **SIGNALS)
    if mode == "vanilla":
        # configure() must not run: the script wires the SDK itself.
        env["OBSBOX_DISABLED"] = "true"
    proc = subprocess.run(
        [sys.executable, "-c", TASK_SCRIPT, str(CALLS), mode], env=env, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PER_TASK_US"))
    return float(line.split()[1])


def measure(receiver: str) -> dict[str, float]:
    """Median over REPS interleaved interpreter runs of each mode's median per-task time."""
    rng = random.Random(3)
    runs: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(REPS):
        order = list(MODES)
        rng.shuffle(order)
        for m in order:
            runs[m].append(_run(m, receiver))
    return {m: statistics.median(runs[m]) for m in MODES}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="obsbox-bench-jobs-") as tmp:
        receiver = _Receiver(Path(tmp))
        try:
            per_task = measure(receiver.endpoint)
        finally:
            receiver.proc.stop()
    for m in MODES:
        print(f"celery {m:8s} per-task median={per_task[m]:.1f}us added={per_task[m] - per_task['bare']:.1f}us", flush=True)
    obsbox, vanilla = per_task["obsbox"] - per_task["bare"], per_task["vanilla"] - per_task["bare"]
    ratio = obsbox / vanilla if vanilla > 0 else float("nan")
    print(f"jobs overhead: obsbox={obsbox:.0f} vanilla={vanilla:.0f} ratio={ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
