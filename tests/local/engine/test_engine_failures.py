"""The engine's refusals and its cleanup: bad input fails with file and line, nothing is left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from obsbox.replay import engine
from obsbox.replay.engine import EngineError, evaluate
from obsbox.replay.model import Series

# The `leftovers` fixture (conftest.Leftovers): temp directories and Prometheus pids of the test.
Leftovers = Any

GOOD = "groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up == 1\n"
SERIES = [Series({"__name__": "up"}, [0, 60_000], [1.0, 1.0])]


def test_unparsable_promql_names_file_and_line(write_rules: Callable[[str], Path], leftovers: Leftovers) -> None:
    """A rule whose PromQL does not parse fails with promtool's message at the rule's file and line."""
    rules = write_rules("groups:\n- name: g\n  rules:\n  - alert: Bad\n    expr: up === 1\n")
    with pytest.raises(EngineError, match=rf"^{rules}:5: .*parse error"):
        evaluate([rules], SERIES, 0, 60_000)
    assert leftovers.directories() == [] and leftovers.running() == []


def test_conflicting_duplicate_samples_are_refused(write_rules: Callable[[str], Path], leftovers: Leftovers) -> None:
    """Two different values at one timestamp are refused instead of one being dropped silently."""
    series = [Series({"__name__": "up"}, [0, 0], [1.0, 2.0])]
    with pytest.raises(EngineError, match="two different values"):
        evaluate([write_rules(GOOD)], series, 0, 60_000)
    assert leftovers.directories() == [] and leftovers.running() == []


def test_seconds_given_as_milliseconds_are_refused(write_rules: Callable[[str], Path]) -> None:
    """A timestamp implausible as milliseconds (microseconds, say) is refused, not misread."""
    series = [Series({"__name__": "up"}, [1_700_000_000_000_000], [1.0])]
    with pytest.raises(EngineError, match="not a plausible time"):
        evaluate([write_rules(GOOD)], series, 0, 60_000)


def test_missing_prometheus_binary_is_reported(write_rules: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a prometheus binary the engine says so in one line."""
    monkeypatch.setattr(engine, "find_binary", lambda name: None if name == "prometheus" else "/usr/bin/promtool")
    with pytest.raises(EngineError, match="no prometheus binary"):
        evaluate([write_rules(GOOD)], SERIES, 0, 60_000)


def test_runtime_query_error_cleans_up(write_rules: Callable[[str], Path], leftovers: Leftovers) -> None:
    """A rule that fails at evaluation time names its file and line and leaves no process or directory."""
    rules = write_rules("groups:\n- name: g\n  rules:\n  - alert: Many\n    expr: up + on() group_left() up\n")
    series = SERIES + [Series({"__name__": "up", "x": "2"}, [0, 60_000], [1.0, 1.0])]
    with pytest.raises(EngineError, match=rf"^{rules}:4: "):
        evaluate([rules], series, 0, 60_000)
    assert leftovers.pids and leftovers.running() == [] and leftovers.directories() == []


def test_keyboard_interrupt_stops_prometheus_and_removes_data(
    write_rules: Callable[[str], Path], leftovers: Leftovers
) -> None:
    """Ctrl-C during evaluation stops Prometheus and removes the temporary TSDB."""

    def interrupt(stage: str, fraction: float) -> None:
        if stage == "evaluate":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate([write_rules(GOOD)], SERIES, 0, 60_000, progress=interrupt)
    assert leftovers.pids and leftovers.running() == [] and leftovers.directories() == []


def test_labelset_collision_after_rule_labels_is_an_error(write_rules: Callable[[str], Path]) -> None:
    """Two result series that become one alert label set fail like Prometheus, naming the rule."""
    rules = write_rules("groups:\n- name: g\n  rules:\n  - alert: Up\n    expr: up\n    labels:\n      x: same\n")
    series = [Series({"__name__": "up", "x": "1"}, [0], [1.0]), Series({"__name__": "up", "x": "2"}, [0], [1.0])]
    with pytest.raises(EngineError, match=rf"^{rules}:4: .*same labelset"):
        evaluate([rules], series, 0, 0)


def test_invalid_label_name_is_refused_before_backfill(write_rules: Callable[[str], Path]) -> None:
    """A label name the backfiller cannot read is refused with the series named."""
    series = [Series({"__name__": "up", "bad-label": "x"}, [0], [1.0])]
    with pytest.raises(EngineError, match="'bad-label' is not a valid label name"):
        evaluate([write_rules(GOOD)], series, 0, 0)


def test_failed_backfill_is_reported_and_cleaned_up(
    write_rules: Callable[[str], Path], leftovers: Leftovers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When promtool's backfill fails, its message is reported and the temporary TSDB removed."""
    from obsbox.replay import tsdb

    monkeypatch.setattr(tsdb, "MAX_BLOCK_DURATION", "not-a-duration")
    with pytest.raises(EngineError, match="create-blocks-from failed"):
        evaluate([write_rules(GOOD)], SERIES, 0, 60_000)
    assert leftovers.directories() == [] and leftovers.running() == []
