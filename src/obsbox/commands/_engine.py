"""The rule tester's engine choice and block cache, shared by `replay`, `tune`, `promtool-test` and
`export-promtool`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from obsbox.commands._exit import fail

BlockCacheOption = Annotated[
    str | None,
    typer.Option(
        "--block-cache",
        metavar="DIR|off",
        help="Where backfilled blocks are cached by the recordings' content hash (default: OBSBOX_BLOCK_CACHE, "
        "else replay-blocks under OBSBOX_CACHE_DIR); off: no cache.",
    ),
]
PrometheusOption = Annotated[
    Path | None,
    typer.Option(
        "--prometheus",
        metavar="FILE",
        help="The prometheus binary to evaluate with (promtool beside it is used too). Default: obsbox's "
        "build of the deploy's pinned version, else prometheus on PATH. Also OBSBOX_PROMETHEUS.",
        show_default=False,
    ),
]


def select_engine(binary: Path | None) -> str:
    """Apply --prometheus, then say which engine runs (stderr, with a warning when it is not the
    deploy's version); return the banner line for reports."""
    from obsbox.replay.engine_info import engine_info
    from obsbox.replay.prometheus import PROMETHEUS_ENV

    if binary is not None:
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise fail(f"--prometheus {binary}: not an executable file")
        os.environ[PROMETHEUS_ENV] = str(binary.resolve())
    info = engine_info()
    if info is None:
        raise fail("no prometheus binary found: run `make setup` (it builds the pinned Prometheus) or pass --prometheus")
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(info.banner, markup=False)
    if info.warning:
        err.print(f"warning: {info.warning}", markup=False)
    return info.banner
