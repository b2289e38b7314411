"""Progress as plain lines on stderr when it is not a terminal (CI, logs, a pipe)."""

from __future__ import annotations

import sys
import time

# Runs shorter than this print no progress: a quick run (or a quick error, which must be the only
# line on stderr) stays as it was; a long backfill or evaluation shows it is alive.
QUIET_S = 10.0


class LineProgress:
    """The engine's ``progress(stage, fraction)`` as lines, once the run has lasted QUIET_S: one
    per stage, and at most one per 10% within a stage, so a long run off a terminal shows it is
    alive without flooding the log."""

    def __init__(self, command: str, quiet_s: float = QUIET_S) -> None:
        self.command = command
        self.quiet_s = quiet_s
        self.stage = ""
        self.last = -1.0
        self.started = time.monotonic()

    def __call__(self, stage: str, fraction: float) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed < self.quiet_s or (stage == self.stage and fraction - self.last < 0.1):
            return
        self.stage, self.last = stage, fraction
        print(f"{self.command}: {stage} {round(100 * fraction)}% ({elapsed:.0f}s)", file=sys.stderr, flush=True)
