"""Pure parts of the capacity benchmark (bench_capacity.py): configuration, step plan, verdict.

Kept free of hosts and I/O so the rules that decide the printed numbers are unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass

SCRAPE_INTERVAL_S = 15
TARGET_FIRST_PORT = 9300
TARGET_SHARDS = 4
# Doubling steps from 25k series: bounded by the list itself and stopped at the memory budget.
STEPS = (25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000)
DEFAULT_BUDGET_MIB = 1024


@dataclass(frozen=True)
class StepResult:
    series: int  # series the synthetic target exposed at this step
    head_series: int  # what Prometheus' head held (the target's plus Prometheus' own)
    rss_mib: float  # the highest resident set size seen while holding the step
    scrape_ok: bool  # every shard scraped with up == 1 and all its samples at the last scrape
    max_scrape_s: float  # the slowest shard's scrape duration


def prometheus_config(remote_write_url: str | None, shards: int = TARGET_SHARDS) -> str:
    """prometheus.yml for the benchmark: the synthetic shards, Prometheus itself, remote write."""
    targets = ", ".join(f"'127.0.0.1:{TARGET_FIRST_PORT + shard}'" for shard in range(shards))
    text = (
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
        f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
        "  external_labels: {bench: capacity}\n"
        "scrape_configs:\n"
        "  - job_name: synthetic\n"
        f"    static_configs: [{{targets: [{targets}]}}]\n"
        "  - job_name: prometheus\n"
        "    static_configs: [{targets: ['127.0.0.1:9090']}]\n"
    )
    if remote_write_url:
        # Upstream's queue defaults except max_shards, written out so the sizing page can cite them.
        text += (
            "remote_write:\n"
            f"  - url: {remote_write_url}\n"
            "    queue_config: {capacity: 10000, max_shards: 50, max_samples_per_send: 2000}\n"
        )
    return text


def within_budget(step: StepResult, budget_mib: float) -> bool:
    return step.scrape_ok and step.rss_mib <= budget_mib


def best_step(steps: list[StepResult], budget_mib: float) -> StepResult | None:
    """The largest step held within the budget with every scrape complete (steps grow)."""
    good = [s for s in steps if within_budget(s, budget_mib)]
    return max(good, key=lambda s: s.series) if good else None


def catch_up_rate(samples_before: float, samples_after: float, seconds: float) -> float:
    """Samples per second remote write delivered while draining a backlog."""
    if seconds <= 0:
        raise ValueError(f"catch-up took {seconds} s: the backlog was never measured")
    return (samples_after - samples_before) / seconds


def capacity_line(series: int, rss_mib: float, samples_per_s: float) -> str:
    return f"capacity: series={series} rss_mib={rss_mib:.0f} samples_per_s={samples_per_s:.0f}"
