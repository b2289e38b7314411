"""A service that pushes OTLP and serves no /metrics records its metrics even with a stale
PROMETHEUS_MULTIPROC_DIR in its environment (a unit file kept from a pull setup)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, threading, urllib.request
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
import obsbox_instrumentation
reader = InMemoryMetricReader()
runtime = obsbox_instrumentation.configure(service_name="push-only", metric_readers=[reader])
from flask import Flask
from werkzeug.serving import make_server
app = Flask("push-only")
@app.get("/items")
def items():
    return "ok"
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
for _ in range(7):
    urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/items", timeout=10).read()
server.shutdown()
runtime.recorder.flush()
count = 0
for rm in reader.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            if m.name == "http.server.request.duration":
                count += sum(p.count for p in m.data.data_points)
print(json.dumps({"count": count}))
"""


def test_push_only_service_records_with_a_stale_multiproc_dir(tmp_path: Path) -> None:
    """OBSBOX_PROMETHEUS_ENABLED=false and a PROMETHEUS_MULTIPROC_DIR that does not exist: every
    request still reaches the OTLP metrics, and no mmap file is written anywhere."""
    missing = tmp_path / "gone"
    env = {
        "PATH": "/usr/bin:/bin",
        "OBSBOX_PROMETHEUS_ENABLED": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(missing),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["count"] == 7
    assert not missing.exists()
