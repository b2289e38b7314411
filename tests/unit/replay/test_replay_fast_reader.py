"""The fast stage of read_series gives the strict reader's result or steps aside."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from obsbox.replay.model import Series
from obsbox.replay.openmetrics import (
    OpenMetricsError,
    _read_series_fast,
    _read_series_strict,
    parse_series_name,
    write_series,
)

label_values = st.text(alphabet='ab #"\\\n{}=,', max_size=6)
labels = st.dictionaries(st.sampled_from(["job", "code", "a_b"]), label_values, max_size=3)
values = st.floats(allow_nan=False, width=64) | st.sampled_from([0.0, 1.5, float("inf")])


@st.composite
def series_lists(draw: st.DrawFn) -> list[Series]:
    out = []
    for i, extra in enumerate(draw(st.lists(labels, min_size=1, max_size=4, unique_by=lambda d: tuple(sorted(d.items()))))):
        steps = draw(st.lists(st.integers(1, 30_000), min_size=1, max_size=6))
        ts = []
        t = draw(st.integers(0, 2_000_000_000)) * 1000
        for step in steps:
            t += step
            ts.append(t)
        out.append(Series({"__name__": f"m{i % 2}", **extra}, ts, [draw(values) for _ in ts]))
    return out


def _normalised(series: list[Series]) -> list[tuple[object, ...]]:
    return sorted((tuple(sorted(s.labels.items())), tuple(s.timestamps_ms), tuple(map(repr, s.values))) for s in series)


@settings(max_examples=60, deadline=None)
@given(series_lists())
def test_fast_reader_matches_read_series_on_written_files(series: list[Series]) -> None:
    """Whatever write_series writes, the fast path reads exactly as the strict reader does, or defers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.om"
        write_series(series, path)
        fast = _read_series_fast(path)
        slow = _read_series_strict(path)
    if not any("#" in v for s in series for v in s.labels.values()):
        assert fast is not None  # the fast path only steps aside for a '#' in a label value
    assert fast is None or _normalised(fast) == _normalised(slow)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet='m{}="a 0123.e#EOF\\', max_size=20), max_size=6))
def test_fast_reader_never_accepts_what_read_series_refuses(lines: list[str]) -> None:
    """On arbitrary text the fast path returns None wherever the strict reader raises, else the same."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.om"
        path.write_text("".join(line + "\n" for line in lines) + "# EOF\n")
        fast = _read_series_fast(path)
        try:
            slow = _read_series_strict(path)
        except OpenMetricsError:
            assert fast is None
            return
    assert fast is None or _normalised(fast) == _normalised(slow)


def test_parse_series_name_reads_escapes() -> None:
    """Escaped quotes, backslashes and newlines in label values come out unescaped."""
    assert parse_series_name('up{a="x\\"y",b="c\\\\d\\n"}') == {"__name__": "up", "a": 'x"y', "b": "c\\d\n"}
    assert parse_series_name("up {a") is None
