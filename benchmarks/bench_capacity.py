"""Capacity benchmark: how many active series one Prometheus holds at a 15 s scrape within a
memory budget, and what its remote write into VictoriaMetrics sustains.

Two throwaway hosts on the bridge: one runs the pinned Prometheus and a bounded synthetic target
(benchmarks/synthetic_target.py), the other VictoriaMetrics; both binaries come from the local
mirror, built from their Go modules at the deploy's pins. The target's series grow in doubling
steps (benchmarks/capacity.py STEPS); each step is held for a few scrapes while the Prometheus
process's resident set is sampled, and the run stops at the first step above the budget or with
an incomplete scrape. Then the store is stopped for a minute and started again, and remote
write's catch-up rate over the backlog is what it sustains.

Prints `capacity: series=<n> rss_mib=<m> samples_per_s=<s>` (the largest step within the budget,
its resident set, the catch-up rate) and `capacity-step:` / `capacity-detail:` lines. Needs root.
OBSBOX_BENCH_MEMORY_MIB sets the budget (default 1024).
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from benchmarks.capacity import (
    DEFAULT_BUDGET_MIB,
    SCRAPE_INTERVAL_S,
    STEPS,
    TARGET_FIRST_PORT,
    TARGET_SHARDS,
    StepResult,
    best_step,
    capacity_line,
    catch_up_rate,
    prometheus_config,
    within_budget,
)
from obsbox.binaries.catalog import BinarySpec, catalog
from obsbox.hosts.host import Host, throwaway_hosts
from obsbox.hosts.image import ensure_rootfs_tarball
from obsbox.hosts.mirror import MIRROR_DIR, build_mirror, release_dir, serve_mirror

TARGET_SCRIPT = Path(__file__).parent / "synthetic_target.py"
CONTROL = "/run/obsbox-bench/series"
HOLD_S = 30.0  # two scrapes past the first complete one at each step
OUTAGE_S = 60.0  # the store is down this long: four scrapes of backlog
CATCH_UP_TIMEOUT_S = 300.0
MAX_BUDGET_MIB = 8192  # the machine is shared: refuse a budget that could starve it
VM_PORT = 8428


def _install(host: Host, mirror_url: str, spec: BinarySpec, dest: str) -> None:
    """Fetch a release from the mirror, check it against its checksum file, unpack it to dest."""
    base = f"{mirror_url}/{release_dir(spec.component, spec.version)}"
    strip = "--strip-components=1" if spec.archive_top_dir else ""
    host.run(
        f"set -e; mkdir -p {dest} /var/tmp/rel; cd /var/tmp/rel; "
        f"curl -fsS -O {base}/{spec.archive_name} -O {base}/{spec.checksums_name}; "
        f"grep ' {spec.archive_name}$' {spec.checksums_name} | sha256sum -c - >/dev/null; "
        f"tar -xzf {spec.archive_name} -C {dest} {strip}"
    )


def _start_unit(host: Host, unit: str, argv: list[str]) -> None:
    """A unit file rather than systemd-run: a transient unit is gone once stopped, and the
    store is stopped and started again."""
    text = f"[Service]\nExecStart={shlex.join(argv)}\nLimitNOFILE=65536\n"
    host.run(f"cat > /etc/systemd/system/{unit}.service <<'EOF'\n{text}EOF\nsystemctl daemon-reload && systemctl start {unit}")


def _wait_http(host: Host, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.run(f"curl -fsS -o /dev/null {url}", check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{host.name}: {url} did not answer within {timeout:.0f}s")


def _own_metrics(host: Host, names: tuple[str, ...]) -> dict[str, float]:
    """Prometheus' own counters read from its /metrics now (its TSDB has them only per scrape)."""
    text = host.run("curl -fsS http://127.0.0.1:9090/metrics").stdout
    values = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in values:
            values[name] += float(line.rsplit(" ", 1)[1])
    return values


def _query(host: Host, promql: str) -> float:
    out = host.run(
        f"curl -fsS --get --data-urlencode {shlex.quote('query=' + promql)} http://127.0.0.1:9090/api/v1/query"
    ).stdout
    import json  # local: only this helper parses JSON

    result = json.loads(out)["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def _rss_mib(host: Host) -> float:
    pid = host.run("systemctl show -p MainPID --value bench-prometheus").stdout.strip()
    status = host.run(f"cat /proc/{pid}/status").stdout
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kib / 1024


def _run_step(host: Host, series: int) -> StepResult:
    host.run(f"echo {series} > {CONTROL}")
    # The first scrape of every shard that sees the new count, then HOLD_S more.
    deadline = time.monotonic() + 3 * SCRAPE_INTERVAL_S + 30
    scraped = 0.0
    while time.monotonic() < deadline:
        scraped = _query(host, 'sum(scrape_samples_scraped{job="synthetic"})')
        if scraped == series:
            break
        time.sleep(2)
    rss = _rss_mib(host)
    hold_until = time.monotonic() + HOLD_S
    while time.monotonic() < hold_until:
        time.sleep(5)
        rss = max(rss, _rss_mib(host))
    scraped = _query(host, 'sum(scrape_samples_scraped{job="synthetic"})')
    up = _query(host, 'count(up{job="synthetic"} == 1)')
    return StepResult(
        series=series,
        head_series=int(_query(host, "prometheus_tsdb_head_series")),
        rss_mib=rss,
        scrape_ok=scraped == series and up == TARGET_SHARDS,
        max_scrape_s=_query(host, 'max(scrape_duration_seconds{job="synthetic"})'),
    )


_RW = (
    "prometheus_remote_storage_samples_total",
    "prometheus_remote_storage_samples_failed_total",
    "prometheus_remote_storage_samples_dropped_total",
    "prometheus_remote_storage_highest_timestamp_in_seconds",
    "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
)


def _remote_write_catch_up(prom: Host, store: Host) -> tuple[float, float, dict[str, float]]:
    """Stop the store for OUTAGE_S, start it, time the drain; (rate, seconds, counters after).

    The clock starts at the last poll before the first sample is delivered again, not when the
    store answers: remote write's retry backoff (up to 5 s) is not throughput.
    """
    store.run("systemctl stop bench-victoriametrics")
    time.sleep(OUTAGE_S)
    stalled = _own_metrics(prom, _RW)
    store.run("systemctl start bench-victoriametrics")
    base, base_t = stalled[_RW[0]], time.monotonic()
    deadline = base_t + CATCH_UP_TIMEOUT_S
    moving = False
    while time.monotonic() < deadline:
        polled = time.monotonic()
        now = _own_metrics(prom, _RW)
        if not moving:
            if now[_RW[0]] == base:
                base_t = polled
                time.sleep(0.5)
                continue
            moving = True
        lag = now[_RW[3]] - now[_RW[4]]
        if lag <= SCRAPE_INTERVAL_S:
            seconds = time.monotonic() - base_t
            return catch_up_rate(base, now[_RW[0]], seconds), seconds, now
        time.sleep(0.5)
    raise RuntimeError(f"remote write did not catch up within {CATCH_UP_TIMEOUT_S:.0f}s")


def main() -> None:
    if os.geteuid() != 0:
        raise RuntimeError("bench_capacity boots throwaway systemd hosts and needs root")
    budget = float(os.environ.get("OBSBOX_BENCH_MEMORY_MIB", DEFAULT_BUDGET_MIB))
    if not 0 < budget <= MAX_BUDGET_MIB:
        raise ValueError(f"OBSBOX_BENCH_MEMORY_MIB={budget:.0f}: must be between 1 and {MAX_BUDGET_MIB}")
    ensure_rootfs_tarball()
    versions = build_mirror(MIRROR_DIR)
    specs = {spec.component: spec for spec in catalog(versions)}
    if "victoriametrics" not in specs:
        raise RuntimeError("the binaries catalog has no victoriametrics release (the HA layout's store)")
    prom_spec, vm_spec = specs["prometheus"], specs["victoriametrics"]
    with throwaway_hosts(["obsbox-cap-prom", "obsbox-cap-store"]) as (prom, store):
        with serve_mirror(MIRROR_DIR, prom.gateway) as mirror_url:
            _install(prom, mirror_url, prom_spec, "/opt/prometheus")
            _install(store, mirror_url, vm_spec, "/opt/victoriametrics")
        (binary,) = (name for name, _ in vm_spec.binaries)
        _start_unit(store, "bench-victoriametrics", [
            f"/opt/victoriametrics/{binary}", "-storageDataPath=/var/lib/bench-vm", "-retentionPeriod=1d",
            f"-httpListenAddr={store.address}:{VM_PORT}",
        ])  # fmt: skip
        _wait_http(store, f"http://{store.address}:{VM_PORT}/health")

        prom.run(f"mkdir -p /etc/bench /run/obsbox-bench && echo 0 > {CONTROL}")
        config = prometheus_config(f"http://{store.address}:{VM_PORT}/api/v1/write")
        prom.run(f"cat > /etc/bench/prometheus.yml <<'EOF'\n{config}EOF")
        prom.run(f"cat > /etc/bench/synthetic_target.py <<'EOF'\n{TARGET_SCRIPT.read_text()}EOF")
        _start_unit(prom, "bench-target", [
            "/usr/bin/python3", "/etc/bench/synthetic_target.py", CONTROL, str(TARGET_FIRST_PORT), str(TARGET_SHARDS),
        ])  # fmt: skip
        _start_unit(prom, "bench-prometheus", [
            "/opt/prometheus/prometheus", "--config.file=/etc/bench/prometheus.yml",
            "--storage.tsdb.path=/var/lib/bench-prometheus", "--storage.tsdb.retention.time=1d",
            "--web.listen-address=127.0.0.1:9090",
        ])  # fmt: skip
        _wait_http(prom, "http://127.0.0.1:9090/-/ready")

        steps: list[StepResult] = []
        for series in STEPS:
            step = _run_step(prom, series)
            steps.append(step)
            print(
                f"capacity-step: series={step.series} head_series={step.head_series} rss_mib={step.rss_mib:.0f} "
                f"scrape_ok={step.scrape_ok} max_scrape_s={step.max_scrape_s:.2f}",
                flush=True,
            )
            if not within_budget(step, budget):
                break
        best = best_step(steps, budget)
        if best is None:
            raise RuntimeError(f"not even {STEPS[0]} series fit in {budget:.0f} MiB: {steps}")
        rate, seconds, after = _remote_write_catch_up(prom, store)
        print(
            f"capacity-detail: budget_mib={budget:.0f} scrape_interval_s={SCRAPE_INTERVAL_S} "
            f"steady_samples_per_s={steps[-1].series / SCRAPE_INTERVAL_S:.0f} outage_s={OUTAGE_S:.0f} "
            f"catch_up_s={seconds:.1f} failed={after[_RW[1]]:.0f} dropped={after[_RW[2]]:.0f} "
            f"prometheus={prom_spec.version} victoriametrics={vm_spec.version}"
        )
        print(capacity_line(best.series, best.rss_mib, rate))
