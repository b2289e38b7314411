"""The Python side of a replay holds no big recording in memory: two recordings generated on the
fly, each far bigger than their parsed series would fit in the bound, replay with peak RSS under it.

The bound (engine.STREAM_MIN_BYTES and the streaming scans): a recording of 32 MiB or more is
never read whole; the largest goes to promtool as it is, the others through a line-by-line copy
shifted in time. Parsed, each of these recordings would take well over the bound on its own
(about 120 bytes per sample in Python lists), so a peak under it shows neither was loaded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from obsbox.replay.engine import STREAM_MIN_BYTES

BOUND_MIB = 160
T0 = 1_795_000_000 - 1_795_000_000 % 86400
STEP_S = 5
SERIES = 64  # instances of one counter, each a separate series
HOURS = 32


def _write_recording(directory: Path, name: str, incident_hour: int) -> int:
    """A counter per instance and an error counter that climbs for one hour; written series by
    series, a line at a time (the test never holds the recording either). Its size in bytes."""
    data = directory / f"{name}.om"
    steps = HOURS * 3600 // STEP_S
    start, end = incident_hour * 3600 // STEP_S, (incident_hour + 1) * 3600 // STEP_S
    with open(data, "w", encoding="utf-8") as out:
        out.write("# TYPE big_requests counter\n")
        for i in range(SERIES):
            labels = f'job="big",instance="host-{i:03d}.example.internal:8080",code="200",route="/api/v1/orders/{{id}}"'
            for k in range(steps):
                out.write(f"big_requests_total{{{labels}}} {k * 10} {T0 + k * STEP_S}\n")
        errors = 0
        for k in range(steps):
            errors += 60 if start <= k < end else 0
            out.write(f'big_requests_total{{job="big",instance="host-err",code="500",route="/"}} {errors} {T0 + k * STEP_S}\n')
        out.write("# EOF\n")
    manifest = {
        "name": name,
        "kind": "incident",
        "description": "generated on the fly: one hour of errors",
        "source": "generated",
        "windows": [{"start": T0 + incident_hour * 3600, "end": T0 + (incident_hour + 1) * 3600}],
        "expect": {"fire": [{"alert": "BigErrors", "within": "10m"}]},
    }
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return data.stat().st_size


RULES = {
    "groups": [
        {
            "name": "big",
            "interval": "1m",
            "rules": [
                {
                    "alert": "BigErrors",
                    "expr": 'sum(rate(big_requests_total{code="500"}[5m])) > 1',
                    "for": "2m",
                    "labels": {"severity": "critical"},
                    "annotations": {"summary": "errors"},
                }
            ],
        }
    ]
}

RUNNER = textwrap.dedent(
    """
    import sys
    from obsbox.replay.runner import run_replay
    def peak_mib():
        # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across execve, so a process
        # started from a big pytest would report pytest's size instead of its own.
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(l for l in status if l.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    stages = []
    def progress(stage, fraction):
        # The peak so far at each stage the engine names: a failure says where memory grew.
        if not stages or stages[-1][0] != stage:
            stages.append((stage, peak_mib()))
    report = run_replay([sys.argv[1]], sys.argv[2], progress=progress)
    for stage, mib in stages:
        print(f"peak {mib:.0f} MiB at stage: {stage}", file=sys.stderr)
    s = report.scores.summary
    print(f"caught={s.caught} windows={s.windows} noise={s.noise_pages}")
    print(f"maxrss_mib={peak_mib():.0f}")
    """
)


@pytest.mark.timeout(900)
def test_two_big_recordings_replay_within_the_memory_bound(tmp_path: Path) -> None:
    """Both incidents are caught (the second one shifted in time in the shared TSDB), and the
    Python process's peak RSS stays under the bound."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sizes = [_write_recording(corpus, "big-a", 10), _write_recording(corpus, "big-b", 30)]
    assert min(sizes) >= STREAM_MIN_BYTES
    samples = 2 * (SERIES + 1) * HOURS * 3600 // STEP_S
    # Parsed (timestamps and values as Python ints and floats in lists), far over the bound.
    print("parsed MiB", samples * 120 / 2**20)
    rules = tmp_path / "big.rules.yaml"
    rules.write_text(yaml.safe_dump(RULES, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(rules), str(corpus)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**__import__("os").environ, "OBSBOX_BLOCK_CACHE": "off"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(part.split("=") for line in proc.stdout.splitlines() for part in line.split())
    assert (lines["caught"], lines["windows"]) == ("2", "2")
    # Neither file went through Python (the engine names that step as a stage when it happens).
    assert " whole (" not in proc.stderr, proc.stderr[-3000:]
    assert int(lines["maxrss_mib"]) < BOUND_MIB, proc.stdout + proc.stderr[-3000:]
