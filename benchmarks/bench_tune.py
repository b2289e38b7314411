"""`obsbox tune` over the shipped corpus: 100 variants of SloAvailabilityBurnRateFast in one run.

Ends with

    tune: variants=<n> recordings=<m> seconds=<s> per_variant_recording_ms=<x>

(goal: 100 variants over the shipped corpus in under 2 minutes). The run starts with an empty
block cache of its own, so the time includes the backfill.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from obsbox.replay.blockcache import BLOCK_CACHE_ENV

ROOT = Path(__file__).resolve().parent.parent
# 5 factors x 5 for x 4 guards = 100 variants.
SWEEP = ("factor=0.5,0.75,1,1.25,1.5", "for=0s,1m,2m,4m,5m", "min_requests_per_hour=25,50,100,200")


def main() -> None:
    from obsbox.tune.run import run_tune_many

    with tempfile.TemporaryDirectory(prefix="obsbox-bench-tune-") as tmp:
        previous = os.environ.get(BLOCK_CACHE_ENV)
        os.environ[BLOCK_CACHE_ENV] = str(Path(tmp) / "block-cache")
        try:
            t = time.perf_counter()
            (result,), _ = run_tune_many(
                ["SloAvailabilityBurnRateFast"],
                [ROOT / "alert_rules"],
                ROOT / "alert_rules" / "incidents",
                slos_path=ROOT / "alert_rules" / "slos.yaml",
                sweep=SWEEP,
            )
            seconds = time.perf_counter() - t
        finally:
            if previous is None:
                os.environ.pop(BLOCK_CACHE_ENV, None)
            else:
                os.environ[BLOCK_CACHE_ENV] = previous
    n, m = len(result.variants), len(result.corpus.recordings)
    print(
        f"tune: variants={n} recordings={m} seconds={seconds:.1f} per_variant_recording_ms={1000 * seconds / (n * m):.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
