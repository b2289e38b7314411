"""The replay's fast path: the largest recording goes to promtool as it is, checked by promtool's
own accounting; bad data still fails with the strict reader's file:line message."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsbox.replay import openmetrics, recording, runner, tsdb
from obsbox.replay.engine import Case, evaluate_many
from obsbox.replay.model import AlertState, Evaluation
from obsbox.replay.openmetrics import OpenMetricsError
from obsbox.replay.recording import RecordingError, format_time, load_corpus
from obsbox.replay.runner import run_replay

T0 = 1_795_000_000
NOISE = "name: {name}\nkind: noise\ndescription: d\nsource: generated\n"


@pytest.fixture(autouse=True)
def no_block_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests watch promtool's backfill of the file itself: no cached blocks stand in for it."""
    monkeypatch.setenv("OBSBOX_BLOCK_CACHE", "off")


@pytest.fixture
def fast_results(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What every fast backfill's accounting concluded (True: the blocks hold the file exactly)."""
    results: list[bool] = []
    original = tsdb.FileBackfill.finish

    def finish(self: tsdb.FileBackfill) -> bool:
        results.append(original(self))
        return results[-1]

    monkeypatch.setattr(tsdb.FileBackfill, "finish", finish)
    return results


def _lines(n: int = 400, series: int = 3) -> list[str]:
    return [f'up{{job="j{k}"}} {i % 7} {T0 + i * 15}\n' for k in range(series) for i in range(n)]


def _corpus(directory: Path, lines: list[str], name: str = "big") -> Path:
    directory.mkdir(exist_ok=True)
    data = directory / f"{name}.om"
    data.write_text("".join(lines) + "# EOF\n")
    (directory / f"{name}.yaml").write_text(NOISE.format(name=name))
    return data


def _refused(replay_rules: Path, corpus: Path) -> str:
    with pytest.raises((OpenMetricsError, RecordingError)) as info:
        run_replay([replay_rules], corpus)
    return str(info.value)


def test_unsorted_samples_fail_with_file_and_line(replay_rules: Path, tmp_path: Path, fast_results: list[bool]) -> None:
    """A sample before its predecessor: promtool drops it, the counts disagree, the strict reader names the line."""
    lines = _lines()
    lines[10], lines[11] = lines[11], lines[10]
    data = _corpus(tmp_path / "corpus", lines)
    message = _refused(replay_rules, tmp_path / "corpus")
    assert fast_results == [False]
    assert message == (
        f'{data}:12: sample at {format_time((T0 + 10 * 15) * 1000)} is before the previous one for up{{job="j0"}} at line 11: '
        "samples of a series must be in time order"
    ), message


def test_duplicate_samples_fail_with_file_and_line(replay_rules: Path, tmp_path: Path, fast_results: list[bool]) -> None:
    """A repeated sample (same time, same value): promtool stores it once, the strict reader names it."""
    lines = _lines()
    lines.insert(21, lines[20])
    data = _corpus(tmp_path / "corpus", lines)
    message = _refused(replay_rules, tmp_path / "corpus")
    assert fast_results == [False]
    assert message == f'{data}:22: duplicate sample at {format_time((T0 + 20 * 15) * 1000)} for up{{job="j0"}} (line 21)', message


def test_millisecond_timestamps_fail_with_file_and_line(replay_rules: Path, tmp_path: Path, fast_results: list[bool]) -> None:
    """Milliseconds read as seconds land after the year 5000: the block's range sends it to the strict reader."""
    lines = [f'up{{job="j"}} 1 {(T0 + i * 15) * 1000}\n' for i in range(400)]
    data = _corpus(tmp_path / "corpus", lines)
    message = _refused(replay_rules, tmp_path / "corpus")
    assert fast_results == [False]
    assert message == f"{data}:1: timestamp {T0 * 1000} looks like milliseconds; OpenMetrics wants seconds", message


@pytest.mark.parametrize(
    ("tail", "fragment"),
    [
        ("", "missing '# EOF'"),
        ("\n", "blank line"),
        ('up{job="j0"} x 1\n', "not a number"),
        ('up{job="j9",job="x"} 1 1\n', "'job' given twice"),
        ('up{job="j9"} 1\n', "no timestamp"),
        (f'up{{job="j9"}} 1 {T0}\n# EOF\nup 1 {T0}\n', "data after # EOF"),
    ],
    ids=["no-eof", "blank-line", "bad-value", "label-twice", "no-timestamp", "after-eof"],
)
def test_malformed_files_fail_with_file_and_line(replay_rules: Path, tmp_path: Path, tail: str, fragment: str) -> None:
    """Files promtool refuses or that are visibly broken get the strict reader's message."""
    corpus = tmp_path / "corpus"
    data = _corpus(corpus, _lines())
    text = data.read_text().removesuffix("# EOF\n")
    data.write_text(text + tail + ("# EOF\n" if tail else ""))
    message = _refused(replay_rules, corpus)
    assert message.startswith(f"{data}:") and fragment in message, message


def test_window_outside_data_fails_before_any_backfill(replay_rules: Path, tmp_path: Path, fast_results: list[bool]) -> None:
    """The data's range comes from a streaming scan before promtool runs; a window outside it names the manifest's line."""
    corpus = tmp_path / "corpus"
    _corpus(corpus, _lines())
    manifest = corpus / "big.yaml"
    manifest.write_text(
        "name: big\nkind: incident\ndescription: d\nsource: generated\n"
        f"windows:\n  - start: {T0 + 600}\n    end: {T0 + 86400}\n"
        "expect:\n  fire:\n    - severity: critical\n      within: 5m\n"
    )
    with pytest.raises(RecordingError, match=rf"^{manifest}:6: windows\[0\] .* lies outside the data"):
        run_replay([replay_rules], corpus)
    assert fast_results == []


def test_large_valid_file_is_not_read_in_python(
    replay_rules: Path, replay_corpus: Path, monkeypatch: pytest.MonkeyPatch, fast_results: list[bool]
) -> None:
    """The largest recording is backfilled without the Python sample readers; the small ones are read."""
    _corpus(replay_corpus, _lines(n=4 * 2880, series=4), name="calm-two-days")
    read: list[str] = []
    original = recording.read_data

    def read_data(manifest: recording.Manifest) -> object:
        if manifest.name == "calm-two-days":
            raise AssertionError("the large recording was read in Python")
        read.append(manifest.name)
        return original(manifest)

    monkeypatch.setattr(runner, "read_data", read_data)

    def refuse(*args: object) -> None:
        raise AssertionError("the sample reader was called for the large recording")

    report = run_replay([replay_rules], replay_corpus)
    assert fast_results == [True]
    assert sorted(read) == ["http-5xx-spike", "quiet-night"]
    assert [r.name for r, _ in report.pairs] == ["calm-two-days", "http-5xx-spike", "quiet-night"]
    assert report.passed
    # Now with the readers themselves refusing: only promtool may read the big file.
    monkeypatch.setattr(runner, "read_data", original)
    monkeypatch.setattr(recording, "read_series", refuse)
    monkeypatch.setattr(openmetrics, "_read_series_fast", refuse)
    monkeypatch.setattr(openmetrics, "_read_series_strict", refuse)
    for other in ("http-5xx-spike", "quiet-night"):
        (replay_corpus / f"{other}.yaml").unlink()
    report = run_replay([replay_rules], replay_corpus)
    assert [r.name for r, _ in report.pairs] == ["calm-two-days"]
    assert report.pairs[0][0].start_ms == T0 * 1000 and report.pairs[0][0].end_ms == (T0 + (4 * 2880 - 1) * 15) * 1000


def states(evaluation: Evaluation) -> list[tuple[str, list[tuple[tuple[str, str], ...]], list[AlertState]]]:
    return [
        (rule.name, [tuple(sorted(a.labels.items())) for a in rule.alerts], [s for a in rule.alerts for s in a.states])
        for rule in evaluation.rules
    ]


def test_fast_path_gives_the_same_alerts_as_reading_everything(replay_rules: Path, replay_corpus: Path) -> None:
    """run_replay (largest file straight to promtool, laid out first) and the engine on series read
    in Python give the same states for every alert of every recording."""
    fast = run_replay([replay_rules], replay_corpus).pairs
    recordings = load_corpus(replay_corpus)
    rules = sorted(replay_rules.glob("*.yaml"))
    slow = evaluate_many(rules, [Case(r.series, r.start_ms, r.end_ms) for r in recordings])

    assert len(fast) == len(slow)
    for (rec, evaluation), other in zip(fast, slow):
        assert (evaluation.start_ms, evaluation.end_ms) == (other.start_ms, other.end_ms), rec.name
        assert states(evaluation) == states(other), rec.name


def test_file_holding_rule_outputs_takes_the_strict_path(
    replay_rules: Path, tmp_path: Path, fast_results: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input series named like a rule's output (ALERTS) are dropped, which only the strict path
    does: such a file is read in Python even when it is the largest."""
    alerts = [f'ALERTS{{alertname="X",alertstate="firing"}} 1 {T0 + i * 15}\n' for i in range(400)]
    _corpus(tmp_path / "corpus", _lines() + alerts)
    read: list[str] = []
    original = runner.read_data

    def read_data(manifest: recording.Manifest) -> object:
        read.append(manifest.name)
        return original(manifest)

    monkeypatch.setattr(runner, "read_data", read_data)
    report = run_replay([replay_rules], tmp_path / "corpus")
    assert read == ["big"] and fast_results == []
    assert all(a.labels.get("alertname") != "X" for _, e in report.pairs for r in e.rules for a in r.alerts)


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """Cut every file in two (not only big ones); records (parts, series_to_check) of each backfill."""
    monkeypatch.setattr(tsdb, "SPLIT_MIN_BYTES", 0)
    seen: list[tuple[int, int | None]] = []
    original = tsdb.FileBackfill.finish

    def finish(self: tsdb.FileBackfill) -> bool:
        ok = original(self)
        seen.append((len(self.sources), self.series_to_check))
        return ok

    monkeypatch.setattr(tsdb.FileBackfill, "finish", finish)
    return seen


def _time_major(n: int = 400, series: int = 3) -> list[str]:
    return [f'up{{job="j{k}"}} {i % 7} {T0 + i * 15}\n' for i in range(n) for k in range(series)]


def test_split_series_major_file_is_checked_by_series_count(
    replay_rules: Path, tmp_path: Path, split_everything: list[tuple[int, int | None]]
) -> None:
    """Halves of a file written series by series share no series: Prometheus' count confirms it."""
    _corpus(tmp_path / "corpus", _lines(n=400, series=4))
    report = run_replay([replay_rules], tmp_path / "corpus")
    assert split_everything == [(2, 4)]
    assert report.pairs[0][1].end_ms == (T0 + 399 * 15) * 1000


def test_split_time_major_file_is_checked_by_time_ranges(
    replay_rules: Path, tmp_path: Path, split_everything: list[tuple[int, int | None]]
) -> None:
    """Halves of a file written time by time are apart in time: no series count is needed."""
    _corpus(tmp_path / "corpus", _time_major())
    run_replay([replay_rules], tmp_path / "corpus")
    assert split_everything == [(2, None)]


def test_sample_moved_across_the_cut_is_still_refused(
    replay_rules: Path, tmp_path: Path, split_everything: list[tuple[int, int | None]]
) -> None:
    """An early sample of a first-half series placed in the second half: each half is in order,
    the halves share a series, so the file is backfilled uncut, and the strict reader names it."""
    lines = _lines(n=400, series=4)
    stray = lines.pop(5)  # up{job="j0"} at T0 + 75, moved to the end of the file
    lines.append(stray)
    data = _corpus(tmp_path / "corpus", lines)
    message = _refused(replay_rules, tmp_path / "corpus")
    assert split_everything[0] == (2, 5) and split_everything[1][0] == 1  # j0 in both halves
    assert message.startswith(f"{data}:{len(lines)}: sample at {format_time((T0 + 75) * 1000)} is before the previous one"), message


def test_duplicate_across_the_cut_of_a_time_major_file_is_refused(
    replay_rules: Path, tmp_path: Path, split_everything: list[tuple[int, int | None]]
) -> None:
    """The same sample at the end of the first half and the start of the second: refused with its line."""
    lines = _time_major()
    data = _corpus(tmp_path / "corpus", lines)
    cut = tsdb.find_cut(data)
    assert cut is not None
    index = data.read_bytes()[:cut].count(b"\n")
    lines.insert(index, lines[index - 1])
    _corpus(tmp_path / "corpus", lines)
    message = _refused(replay_rules, tmp_path / "corpus")
    assert "duplicate sample" in message and message.startswith(f"{data}:{index + 1}: "), message


def test_interleaved_valid_file_falls_back_to_one_run(
    replay_rules: Path, tmp_path: Path, split_everything: list[tuple[int, int | None]]
) -> None:
    """A valid file whose halves share series and times is backfilled again uncut, with the same result."""
    # Time by time, but series j0 runs 200 steps behind the others: each series in order, the
    # halves share every series and overlap in time.
    lines = []
    for i in range(600):
        if i < 400:
            lines += [f'up{{job="j{k}"}} {i % 7} {T0 + i * 15}\n' for k in (1, 2, 3)]
        if i >= 200:
            lines.append(f'up{{job="j0"}} {i % 5} {T0 + (i - 200) * 15}\n')
    _corpus(tmp_path / "corpus", lines)
    fast = run_replay([replay_rules], tmp_path / "corpus").pairs
    assert split_everything == [(2, 8), (1, None)]
    recordings = load_corpus(tmp_path / "corpus")
    slow = evaluate_many(sorted(replay_rules.glob("*.yaml")), [Case(r.series, r.start_ms, r.end_ms) for r in recordings])
    assert (fast[0][1].start_ms, fast[0][1].end_ms) == (slow[0].start_ms, slow[0].end_ms)
    assert states(fast[0][1]) == states(slow[0])


def test_bad_small_file_while_promtool_runs_stops_it(
    replay_rules: Path, replay_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A smaller recording with bad data fails with its line while promtool works on the largest;
    promtool is stopped and nothing is left in the temporary directory."""
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    _corpus(replay_corpus, _lines(n=4 * 2880, series=4), name="calm-two-days")
    small = replay_corpus / "http-5xx-spike.om"
    lines = small.read_text().splitlines(keepends=True)
    lines[4], lines[5] = lines[5], lines[4]
    small.write_text("".join(lines))
    message = _refused(replay_rules, replay_corpus)
    assert message.startswith(f"{small}:6: "), message
    assert list(scratch.iterdir()) == []
