"""Replay speed: obsbox against promtool on the same series and rules, in the same run.

A generated corpus of 7 days at 15 s resolution, 200 series and 20 alert rules is replayed by
``obsbox replay`` (the product path: load and validate the recording, backfill, Prometheus,
state machine, scores) and by ``promtool test rules`` on a test file holding the same series
(in promtool's expanding notation) and the same rules, evaluated over the same 7 days. Ends with

    engine: Prometheus <version> (<prometheus>), judge: promtool <version> (<promtool>)
    replay speed: obsbox=<seconds> promtool=<seconds> ratio=<promtool/obsbox> engine=<version>
    replay speed warm: obsbox=<seconds> promtool=<seconds> ratio=<promtool/obsbox> engine=<version>

(warm: the same replay again, its backfilled blocks found in the block cache)

and the peak memory (max RSS) of obsbox's own process and of the largest child process. The
engine is the one `obsbox replay` picks (OBSBOX_PROMETHEUS, else obsbox's pinned build, else
PATH), and promtool is the one of the same release, so both sides evaluate the same PromQL.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from obsbox.replay.blockcache import BLOCK_CACHE_ENV
from obsbox.replay.model import Series
from obsbox.replay.openmetrics import write_series

DAYS = 7
STEP_S = 15
SERVICES = 50  # x 2 status codes = 100 counters
QUEUES = 100  # gauges
RULES = 20
INTERVAL = "1m"
T0 = 1_795_000_000 - 1_795_000_000 % 86400  # a recent midnight, UTC
# An incident: the first 10 services fail 20% of requests for 30 minutes on day 3, and
# queue q0..q9 back up for an hour on day 5.
INCIDENT_START = 3 * 86400 + 10 * 3600
INCIDENT_S = 30 * 60
BACKLOG_START = 5 * 86400 + 14 * 3600
BACKLOG_S = 3600


def series_specs() -> list[tuple[dict[str, str], str, list[tuple[int, int]]]]:
    """Each series as labels, kind ('counter' or 'gauge') and (length, step-or-level) runs."""
    n = DAYS * 86400 // STEP_S
    a, b = INCIDENT_START // STEP_S, INCIDENT_S // STEP_S
    c, d = BACKLOG_START // STEP_S, BACKLOG_S // STEP_S
    specs: list[tuple[dict[str, str], str, list[tuple[int, int]]]] = []
    for s in range(SERVICES):
        failing = s < 10
        base = {"__name__": "http_requests_total", "service": f"s{s:02d}"}
        # 15 s x 10 rps = 150 requests per step; integer increments keep floats exact.
        ok = [(a, 150), (b, 120 if failing else 150), (n - a - b, 150)]
        err = [(a, 0), (b, 30 if failing else 0), (n - a - b, 0)]
        specs.append(({**base, "code": "200"}, "counter", ok))
        specs.append(({**base, "code": "500"}, "counter", err))
    for q in range(QUEUES):
        level = 200 if q < 10 else 5
        specs.append(({"__name__": "queue_depth", "queue": f"q{q:03d}"}, "gauge", [(c, 5), (d, level), (n - c - d, 5)]))
    return specs


def expand(kind: str, runs: list[tuple[int, int]]) -> list[float]:
    values: list[float] = []
    current = 0
    for length, x in runs:
        for _ in range(length):
            if kind == "counter":
                current += x
                values.append(float(current))
            else:
                values.append(float(x))
    return values


def notation(kind: str, runs: list[tuple[int, int]]) -> str:
    """promtool's expanding notation for the same samples as ``expand``."""
    parts = []
    current = 0
    for length, x in runs:
        if kind == "counter":
            start = current + x
            parts.append(f"{start}+{x}x{length - 1}")
            current += x * length
        else:
            parts.append(f"{x}x{length - 1}")
    return " ".join(parts)


def rules_document() -> dict[str, object]:
    rules = []
    for i in range(RULES // 2):
        services = "|".join(f"s{s:02d}" for s in range(i * 5, i * 5 + 5))
        rules.append(
            {
                "alert": f"BenchErrorRatio{i:02d}",
                "expr": (
                    f'sum by (service) (rate(http_requests_total{{code="500",service=~"{services}"}}[5m]))'
                    f' / sum by (service) (rate(http_requests_total{{service=~"{services}"}}[5m])) > 0.05'
                ),
                "for": "2m",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "errors"},
            }
        )
    for i in range(RULES // 2):
        queues = "|".join(f"q{q:03d}" for q in range(i * 10, i * 10 + 10))
        rules.append(
            {
                "alert": f"BenchQueueBacklog{i:02d}",
                "expr": f'max by (queue) (queue_depth{{queue=~"{queues}"}}) > 100',
                "for": "5m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "backlog"},
            }
        )
    return {"groups": [{"name": "bench", "interval": INTERVAL, "rules": rules}]}


def build(workdir: Path) -> tuple[Path, Path, Path]:
    """Write rules, the obsbox corpus and the promtool test file; return their paths."""
    specs = series_specs()
    rules = workdir / "bench.rules.yaml"
    rules.write_text(yaml.safe_dump(rules_document(), sort_keys=False))

    corpus = workdir / "corpus"
    corpus.mkdir()
    n = DAYS * 86400 // STEP_S
    timestamps = [(T0 + i * STEP_S) * 1000 for i in range(n)]
    series = [Series(labels, timestamps, expand(kind, runs)) for labels, kind, runs in specs]
    write_series(series, corpus / "bench-week.om")
    del series
    manifest = {
        "name": "bench-week",
        "kind": "incident",
        "description": "A generated week: an error-ratio incident on day 3 and a queue backlog on day 5.",
        "source": "generated",
        "source_detail": "benchmarks/bench_replay.py",
        "windows": [
            {"start": T0 + INCIDENT_START, "end": T0 + INCIDENT_START + INCIDENT_S},
            {"start": T0 + BACKLOG_START, "end": T0 + BACKLOG_START + BACKLOG_S},
        ],
        "expect": {"fire": [{"severity": "critical", "within": "1h30m"}]},
    }
    # Windows as epoch seconds; both windows need a critical alert only for the first to hold,
    # which is fine: the benchmark measures speed, and the run's exit status is not asserted.
    (corpus / "bench-week.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))

    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": INTERVAL,
        "tests": [
            {
                "interval": f"{STEP_S}s",
                "input_series": [
                    {"series": _series_text(labels), "values": notation(kind, runs)} for labels, kind, runs in specs
                ],
                # One check at the end makes promtool evaluate every rule over the whole week.
                "alert_rule_test": [{"eval_time": f"{DAYS * 24 * 60 - 1}m", "alertname": "BenchErrorRatio00", "exp_alerts": []}],
            }
        ],
    }
    test_file = workdir / "bench.test.yaml"
    test_file.write_text(yaml.safe_dump(test, sort_keys=False, width=10_000))
    return rules, corpus, test_file


def _series_text(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels['__name__']}{{{inner}}}"


def _own_peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM): getrusage's ru_maxrss survives execve on Linux, so it
    would report the launching process's size when that was larger."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(row for row in status if row.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _children_max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def engine_binaries() -> tuple[str, str, str]:
    """(prometheus, promtool, version): the engine `obsbox replay` would run, and the promtool of
    the same release (refused when the two say different versions)."""
    from obsbox.replay.prometheus import binary_version, find_binary

    prometheus, promtool = find_binary("prometheus"), find_binary("promtool")
    if prometheus is None or promtool is None:
        raise RuntimeError("no prometheus/promtool found: run `make setup`")
    version, promtool_version = binary_version(prometheus), binary_version(promtool)
    if version != promtool_version:
        raise RuntimeError(
            f"promtool {promtool} is {promtool_version or 'of unknown version'}, the engine {prometheus} is "
            f"{version or 'of unknown version'}: set OBSBOX_PROMTOOL to the promtool of the engine's release"
        )
    return prometheus, promtool, version


def main() -> None:
    from obsbox.replay.prometheus import PROMETHEUS_ENV, PROMTOOL_ENV

    prometheus, promtool, version = engine_binaries()
    print(f"engine: Prometheus {version} ({prometheus}), judge: promtool {version} ({promtool})", flush=True)
    with tempfile.TemporaryDirectory(prefix="obsbox-bench-replay-") as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        rules, corpus, test_file = build(workdir)
        print(f"corpus: {DAYS} days at {STEP_S}s, {len(series_specs())} series, {RULES} rules "
              f"(built in {time.perf_counter() - t:.1f}s)", flush=True)

        # promtool first, so that its child RSS is measured before Prometheus' (maxrss is a max).
        t = time.perf_counter()
        proc = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
        promtool_s = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"promtool test rules failed: {proc.stdout[-400:]} {proc.stderr[-400:]}")
        promtool_rss = _children_max_rss_mib()

        # A block cache of the benchmark's own: the first run is cold, the second finds the blocks.
        env = {**os.environ, PROMETHEUS_ENV: prometheus, PROMTOOL_ENV: promtool, BLOCK_CACHE_ENV: str(workdir / "block-cache")}
        timings = []
        for _ in ("cold", "warm"):
            t = time.perf_counter()
            obsbox = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_replay", "--obsbox", str(rules), str(corpus)],
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            timings.append(time.perf_counter() - t)
            if obsbox.returncode != 0:
                raise RuntimeError(f"obsbox replay failed: {obsbox.stderr[-600:]}")
            print(obsbox.stdout.strip(), flush=True)
        obsbox_s, warm_s = timings
        children_rss = _children_max_rss_mib()
    print(f"peak memory: promtool={promtool_rss:.0f}MiB obsbox+prometheus(largest process)={children_rss:.0f}MiB", flush=True)
    print(
        f"replay speed: obsbox={obsbox_s:.2f} promtool={promtool_s:.2f} ratio={promtool_s / obsbox_s:.2f} engine={version}",
        flush=True,
    )
    # promtool has no cache: its one run above is its time for the warm line too.
    print(
        f"replay speed warm: obsbox={warm_s:.2f} promtool={promtool_s:.2f} ratio={promtool_s / warm_s:.2f} engine={version}",
        flush=True,
    )


def _run_obsbox(rules: str, corpus: str) -> None:
    """The obsbox side, in its own process so its peak memory is its own."""
    from obsbox.replay.runner import run_replay

    stages: list[tuple[str, float]] = []
    t = time.perf_counter()
    report = run_replay([rules], corpus, progress=lambda stage, fraction: stages.append((stage, time.perf_counter() - t)))
    total = time.perf_counter() - t
    rss = _own_peak_rss_mib()
    prom = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    timeline = " ".join(f"{stage}@{at:.1f}s" for stage, at in stages)
    s = report.scores.summary
    print(f"obsbox: {total:.1f}s ({timeline}); recall={s.recall} precision={s.precision} episodes={s.episodes}")
    print(f"obsbox peak memory: python={rss:.0f}MiB prometheus/promtool children={prom:.0f}MiB")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--obsbox":
        _run_obsbox(sys.argv[2], sys.argv[3])
    else:
        main()
