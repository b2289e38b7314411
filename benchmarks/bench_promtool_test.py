"""promtool-test speed: `obsbox promtool-test FILE` against `promtool test rules FILE` on the peer
suites (promtool test files of other projects), in the same run, on the same engine release.

Each file is run by both, as a user runs them (a process each, from the file's directory), best
of ``REPEATS``; the verdicts must agree. Ends with

    promtool-test speed: obsbox=<s> promtool=<s> ratio=<promtool/obsbox> files=<n> engine=<version>

(ratio below 1: obsbox is slower; 0.5 means twice promtool's time).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 3
HERE = Path(__file__).resolve().parent
PEER_SUITES = next(
    (p for p in (HERE.parent.parent / "shared" / "peer-suites", Path("/work/shared/peer-suites")) if p.is_dir()),
    Path("/work/shared/peer-suites"),
)


def peer_files() -> list[Path]:
    """Every promtool test file of the peer suites (a YAML file with a top-level ``tests:``)."""
    return sorted(
        p for p in PEER_SUITES.rglob("*.y*ml") if any(ln.startswith("tests:") for ln in p.read_text(encoding="utf-8").splitlines())
    )


def _best(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    best = float("inf")
    code = -1
    for _ in range(REPEATS):
        t = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=env, timeout=600)
        best = min(best, time.perf_counter() - t)
        code = proc.returncode
    return best, code


def main() -> None:
    from benchmarks.bench_replay import engine_binaries
    from obsbox.replay.prometheus import PROMETHEUS_ENV, PROMTOOL_ENV

    files = peer_files()
    if not files:
        raise RuntimeError(f"no peer suites under {PEER_SUITES}")
    prometheus, promtool, version = engine_binaries()
    env = {**os.environ, PROMETHEUS_ENV: prometheus, PROMTOOL_ENV: promtool}
    obsbox = [sys.executable, "-m", "obsbox.cli", "promtool-test"]
    print(f"engine: Prometheus {version} ({prometheus}); peer suites: {PEER_SUITES}; best of {REPEATS}", flush=True)
    total_ours = total_theirs = 0.0
    disagree = []
    for path in files:
        theirs_s, theirs_code = _best([promtool, "test", "rules", path.name], path.parent, env)
        ours_s, ours_code = _best([*obsbox, path.name], path.parent, env)
        total_ours += ours_s
        total_theirs += theirs_s
        same = (ours_code == 0) == (theirs_code == 0)
        if not same:
            disagree.append(path)
        print(
            f"  {path.relative_to(PEER_SUITES)}: obsbox={ours_s:.2f}s (exit {ours_code}) promtool={theirs_s:.2f}s (exit {theirs_code})"
            f" ratio={theirs_s / ours_s:.2f}{'' if same else ' VERDICTS DIFFER'}",
            flush=True,
        )
    if disagree:
        raise RuntimeError(f"obsbox and promtool disagree on {', '.join(map(str, disagree))}")
    print(
        f"promtool-test speed: obsbox={total_ours:.2f} promtool={total_theirs:.2f} ratio={total_theirs / total_ours:.2f} "
        f"files={len(files)} engine={version}",
        flush=True,
    )


if __name__ == "__main__":
    main()
