"""The rule tester's engine choice, block cache, scratch directory and run errors, shared by
`replay`, `tune`, `promtool-test` and `export-promtool`."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from obsbox.commands._exit import EXIT_INTERRUPTED, fail

if TYPE_CHECKING:
    from obsbox.replay.engine_info import EngineInfo

BlockCacheOption = Annotated[
    str | None,
    typer.Option(
        "--block-cache",
        metavar="DIR|off",
        help="Where backfilled blocks are cached by the recordings' content hash (default: OBSBOX_BLOCK_CACHE, "
        "else replay-blocks under OBSBOX_CACHE_DIR); off: no cache.",
    ),
]
IncidentsOption = Annotated[
    Path, typer.Option("--incidents", metavar="DIR", help="Directory of recordings (manifests + OpenMetrics).")
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


def select_engine(binary: Path | None) -> EngineInfo:
    """Apply --prometheus, then say which engine runs (stderr, with a warning when it is not the
    deploy's version); return it for reports."""
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
    return info


def use_engine(binary: Path | None, block_cache: str | None) -> EngineInfo:
    """Apply --prometheus and --block-cache for the replays this command runs (see ``select_engine``)."""
    info = select_engine(binary)
    if block_cache is not None:
        from obsbox.replay.blockcache import BLOCK_CACHE_ENV

        os.environ[BLOCK_CACHE_ENV] = block_cache
    return info


def check_out_dirs(*outs: Path | None) -> None:
    """Fail before a long run, not after it, when a report could not be written."""
    for out in outs:
        if out is not None and not out.resolve().parent.is_dir():
            raise fail(f"{out}: its directory does not exist")


def input_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input (a recording, a rule file, the engine's verdict on them)."""
    from obsbox.replay.openmetrics import OpenMetricsError
    from obsbox.replay.recording import RecordingError
    from obsbox.replay.runner import ReplayInputError

    errors: list[type[BaseException]] = [OpenMetricsError, RecordingError, ReplayInputError]
    try:
        from obsbox.replay.engine import EngineError

        errors.append(EngineError)
    except ImportError:  # the engine is optional for `import`
        pass
    try:
        from obsbox.replay.prometheus import PrometheusError

        errors.append(PrometheusError)
    except ImportError:
        pass
    return tuple(errors)


def os_error_message(exc: OSError, unnamed: object = "?") -> str:
    """An OSError as ``file: reason`` (``unnamed`` stands for the file when the error names none)."""
    return f"{getattr(exc, 'filename', None) or unnamed}: {exc.strerror or exc}"


@contextmanager
def run_errors(errors: tuple[type[BaseException], ...], unnamed: object = "?") -> Iterator[None]:
    """Ctrl-C, bad input (``errors``) and OS errors of an engine run, each as one line on stderr
    and its exit status."""
    try:
        yield
    except KeyboardInterrupt:
        raise fail("interrupted; temporary data removed and Prometheus stopped", EXIT_INTERRUPTED) from None
    except errors as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(os_error_message(exc, unnamed)) from None


@contextmanager
def scratch_tmpdir() -> Iterator[None]:
    """A private TMPDIR for child processes, removed afterwards.

    ``promtool tsdb create-blocks-from`` keeps its head block in $TMPDIR and leaves it there
    when it is killed (as on Ctrl-C); the replay must leave nothing behind.
    """
    scratch = tempfile.mkdtemp(prefix="obsbox-replay-scratch-")
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = scratch
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous
        shutil.rmtree(scratch, ignore_errors=True)
