"""`obsbox corpus generate` and `obsbox corpus record-demo`: write the incident corpus's recordings."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from obsbox.commands._exit import EXIT_FAILED, fail
from obsbox.commands._source import source_checkout

DEFAULT_OUT = Path("alert_rules/incidents")

corpus_app = typer.Typer(
    help="The incident corpus: rewrite its generated recordings, re-record its recorded ones.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@corpus_app.command("generate")
def generate(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME", help="Recordings to write (default: every generated one).", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory for <name>.om and <name>.yaml.")] = DEFAULT_OUT,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 naming each file in DIR that differs from a fresh run.")
    ] = False,
) -> None:
    """Write the generated recordings from their seeded scenarios: the same bytes every run."""
    from obsbox.corpus.generate import unknown_names, write_recording
    from obsbox.corpus.scenarios import SCENARIOS

    unknown = unknown_names(names or [])
    if unknown:
        raise fail(f"unknown recording(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if check:
        _check(names or list(SCENARIOS), out)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in names or list(SCENARIOS):
            rec = write_recording(name, out)
            samples = sum(len(s.timestamps_ms) for s in rec.series)
            typer.echo(f"{name}: {rec.kind}, {len(rec.series)} series, {samples} samples")
    except OSError as exc:
        raise fail(f"{exc.filename or out}: {exc.strerror or exc}") from None


def _check(names: list[str], out: Path) -> None:
    """Generate into a scratch directory and compare byte for byte with out."""
    from obsbox.corpus.generate import write_recording

    with tempfile.TemporaryDirectory(prefix="obsbox-corpus-check-") as tmp:
        stale = []
        for name in names:
            write_recording(name, Path(tmp))
            for suffix in (".om", ".yaml"):
                fresh, current = Path(tmp) / f"{name}{suffix}", out / f"{name}{suffix}"
                if not current.is_file() or current.read_bytes() != fresh.read_bytes():
                    stale.append(current.name)
    if stale:
        raise fail(f"{out}: not what the generator writes: {', '.join(stale)}; run `obsbox corpus generate`", code=EXIT_FAILED)
    typer.echo(f"{out}: {len(names)} generated recordings up to date")


@corpus_app.command("record-demo")
def record_demo(
    names: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME",
            help="Recorded entries to record again (recorded-*), or 'all'; several record side by side.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory for <name>.om and <name>.yaml.")] = DEFAULT_OUT,
) -> None:
    """Record entries from the real demo service (one or two instances), its payments dependency
    and a real Prometheus on free loopback ports, with faults injected on a schedule. Runs in real
    time (10 to 25 minutes); several names run side by side, each in its own process."""
    source_checkout("corpus record-demo", "examples")
    from obsbox.corpus.record_demo import PLANS, record
    from obsbox.recorder import RecordError

    chosen = sorted(PLANS) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in PLANS]
    if unknown:
        raise fail(f"unknown recorded entr{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; known: {', '.join(sorted(PLANS))}")
    if len(chosen) > 1:
        # One process per entry: each has its own demo, Prometheus and wall-clock schedule.
        procs = {
            n: subprocess.Popen([sys.executable, "-m", "obsbox.cli", "corpus", "record-demo", n, "--out", str(out)])
            for n in chosen
        }
        failed = [n for n, proc in procs.items() if proc.wait() != 0]
        if failed:
            raise fail(f"record-demo failed for {', '.join(failed)}", code=1)
        return
    try:
        record(chosen[0], out)
    except (RecordError, OSError, RuntimeError) as exc:
        raise fail(f"record-demo {chosen[0]}: {exc}", code=1) from None


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.add_typer(corpus_app, name="corpus")
