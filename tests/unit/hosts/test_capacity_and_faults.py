"""Pure parts of the HA harness: the partition rules and the capacity benchmark's verdict."""

from __future__ import annotations

import pytest

from benchmarks.capacity import StepResult, best_step, capacity_line, catch_up_rate, prometheus_config
from benchmarks.synthetic_target import MAX_SERIES, body
from obsbox.hosts.faults import partition_rules


def test_partition_rules_drop_both_directions_on_both_port_fields() -> None:
    rules = partition_rules(["10.214.0.12", "10.214.0.11", "10.214.0.12"], [9094])
    assert rules.count("drop") == 4
    assert "ip saddr { 10.214.0.11, 10.214.0.12 }" in rules
    assert "ip daddr { 10.214.0.11, 10.214.0.12 }" in rules
    assert "th dport { 9094 }" in rules and "th sport { 9094 }" in rules
    assert "meta l4proto { tcp, udp }" in rules  # memberlist gossips over both


def test_partition_rules_refuse_an_empty_partition() -> None:
    with pytest.raises(ValueError, match="at least one peer"):
        partition_rules([], [9094])
    with pytest.raises(ValueError, match="at least one peer"):
        partition_rules(["10.214.0.11"], [])


def _step(series: int, rss: float, ok: bool = True) -> StepResult:
    return StepResult(series, series + 700, rss, ok, 0.1)


def test_best_step_is_the_largest_within_budget_with_complete_scrapes() -> None:
    steps = [_step(25_000, 130), _step(50_000, 190), _step(100_000, 300, ok=False), _step(200_000, 1100)]
    assert best_step(steps, budget_mib=1024) == steps[1]
    assert best_step(steps, budget_mib=100) is None


def test_catch_up_rate_and_line() -> None:
    assert catch_up_rate(1000, 31000, 10.0) == 3000
    with pytest.raises(ValueError):
        catch_up_rate(0, 1, 0)
    assert capacity_line(400_000, 812.4, 52_345.6) == "capacity: series=400000 rss_mib=812 samples_per_s=52346"


def test_prometheus_config_scrapes_every_shard_at_15s_and_writes_remote() -> None:
    text = prometheus_config("http://10.214.0.11:8428/api/v1/write", shards=2)
    assert "scrape_interval: 15s" in text
    assert "'127.0.0.1:9300', '127.0.0.1:9301'" in text
    assert "url: http://10.214.0.11:8428/api/v1/write" in text
    assert "remote_write" not in prometheus_config(None)


def test_synthetic_target_shards_partition_the_series_and_values_move() -> None:
    shards = [body(s, 3, 10, tick=2).decode().splitlines()[1:] for s in range(3)]
    assert sum(len(lines) for lines in shards) == 10
    assert len({line.split(" ")[0] for lines in shards for line in lines}) == 10
    first = body(0, 1, 5, tick=1).decode().splitlines()[1:]
    second = body(0, 1, 5, tick=2).decode().splitlines()[1:]
    assert [line.rsplit(" ", 1)[0] for line in first] == [line.rsplit(" ", 1)[0] for line in second]
    assert all(float(b.rsplit(" ", 1)[1]) > float(a.rsplit(" ", 1)[1]) for a, b in zip(first, second))
    assert MAX_SERIES >= 1_600_000
