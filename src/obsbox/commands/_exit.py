"""Exit statuses and the one-line error of the rule tester's commands (replay, promtool)."""

from __future__ import annotations

import typer
from rich.console import Console

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# promtool-test: a group could not be evaluated at all (no assertion failed): not a verdict.
EXIT_NOT_EVALUATED = 3
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr as one line, whatever the exception carried; the Exit to raise."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {' '.join(message.split())}", markup=False)
    return typer.Exit(code)
