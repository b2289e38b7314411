"""Starting the engine's child processes (promtool, Prometheus) so that Ctrl-C never orphans one.

A SIGINT that lands while ``subprocess.Popen`` waits for the child's exec raises
KeyboardInterrupt before the Popen object is returned: the child runs on, and nothing holds its
pid to stop it. ``spawn`` holds the interrupt back until the child is known, then stops the child
and raises it, so a caller either gets a running child or an interrupt with nothing left behind.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _interrupt_held() -> Iterator[list[int]]:
    """Within the block, SIGINT is recorded instead of raised (main thread with Python's default
    handler only: elsewhere signals are not ours to take over). Yields what was recorded."""
    caught: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield caught
        return
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def spawn(args: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(args, **popen)``; a Ctrl-C meanwhile kills the child, then is raised."""
    with _interrupt_held() as caught:
        process = subprocess.Popen(args, **popen)
    if caught:
        process.kill()
        process.communicate()
        raise KeyboardInterrupt
    return process
