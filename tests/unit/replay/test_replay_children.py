"""Ctrl-C while a child process is being started: the child is stopped, the interrupt still raised."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

import pytest

from obsbox.replay import children


def test_interrupt_during_start_kills_the_child_then_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[Any]] = []
    real_popen = subprocess.Popen

    def popen_then_ctrl_c(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        # The child has been exec'd and the interrupt arrives before Popen returns (the race).
        process = real_popen(*args, **kwargs)
        started.append(process)
        os.kill(os.getpid(), signal.SIGINT)
        return process

    monkeypatch.setattr(children.subprocess, "Popen", popen_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        children.spawn(["sleep", "600"], stdin=subprocess.DEVNULL)
    assert len(started) == 1 and started[0].returncode == -signal.SIGKILL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_an_interrupt_the_child_runs_and_ctrl_c_works_again() -> None:
    process = children.spawn(["sleep", "600"], stdin=subprocess.DEVNULL)
    try:
        assert process.poll() is None
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        process.kill()
        process.wait()
