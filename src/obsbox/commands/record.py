"""`obsbox record` (export a recording from Prometheus) and `obsbox rules render`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EXIT_BAD_INPUT = 2
DEFAULT_SLOS = Path("alert_rules/slos.yaml")
DEFAULT_SLO_RULES = Path("alert_rules/slo.rules.yaml")
# Never the shipped corpus by default: a new recording is the user's until they add it there.
DEFAULT_RECORDINGS = Path("recordings")

rules_app = typer.Typer(help="Alert rules rendered from data.", no_args_is_help=True, rich_markup_mode=None)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@rules_app.command("render")
def rules_render(
    slos: Annotated[Path, typer.Option("--slos", metavar="FILE", help="SLO definitions.")] = DEFAULT_SLOS,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Rule file to write.")] = DEFAULT_SLO_RULES,
    check: Annotated[bool, typer.Option("--check", help="Only report whether OUT is up to date.")] = False,
) -> None:
    """Render the SLO burn-rate rules from the SLO definitions."""
    from obsbox.rules.slo import SloError, load_slos, render_slo_rules

    try:
        text = render_slo_rules(load_slos(slos))
    except SloError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or slos}: {exc.strerror or exc}") from None
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            raise _fail(f"{out} is not what {slos} renders to; run `obsbox rules render`")
        typer.echo(f"{out} is up to date")
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


def _time(text: str, what: str) -> float:
    from obsbox.formats import parse_time_ms

    try:
        return parse_time_ms(text) / 1000
    except ValueError as exc:
        raise _fail(f"{what}: {exc}") from None


def record(
    prometheus: Annotated[
        str, typer.Option("--prometheus", metavar="URL", help="Prometheus base URL, e.g. http://127.0.0.1:9090.")
    ],
    match: Annotated[list[str], typer.Option("--match", metavar="SELECTOR", help="Series selector to export; repeat for more.")],
    start: Annotated[str, typer.Option("--start", metavar="TIME", help="RFC 3339 time or epoch seconds.")],
    end: Annotated[str, typer.Option("--end", metavar="TIME", help="RFC 3339 time or epoch seconds.")],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Recording name (file stem).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for <name>.om and <name>.yaml (pass alert_rules/incidents to add to the shipped corpus).",
        ),
    ] = DEFAULT_RECORDINGS,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            metavar="KIND",
            help="incident or noise; default: incident when --window or --expect-alert is given, else noise.",
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description", metavar="TEXT", help="What happened.")] = "TODO: describe",
    source_detail: Annotated[str, typer.Option("--source-detail", metavar="TEXT", help="How it was recorded.")] = "",
    window: Annotated[
        list[str] | None,
        typer.Option("--window", metavar="START/END", help="Impact window START/END (incidents); repeat for more."),
    ] = None,
    expect_alert: Annotated[
        str | None, typer.Option("--expect-alert", metavar="ALERTNAME", help="Alert an incident must fire.")
    ] = None,
    within: Annotated[str, typer.Option("--within", metavar="DURATION", help="How soon after each window's start.")] = "10m",
    chunk: Annotated[int, typer.Option("--chunk", metavar="SECONDS", help="Seconds of data per query.")] = 3600,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing recording of that name.")] = False,
) -> None:
    """Export raw samples from Prometheus as a recording: <name>.om plus a manifest."""
    from obsbox.recorder import RecordError, RecordRequest, fetch, manifest_skeleton
    from obsbox.replay.recording import write_recording

    incident_flags = [flag for flag, given in (("--window", bool(window)), ("--expect-alert", expect_alert)) if given]
    if kind is None:
        kind = "incident" if incident_flags else "noise"
    elif kind not in ("incident", "noise"):
        raise _fail(f"--kind must be incident or noise, not {kind!r}")
    elif kind == "noise" and incident_flags:
        raise _fail(f"a noise recording has no impact windows or expected alerts: drop {' and '.join(incident_flags)}, or use --kind incident")
    existing = [p for p in (out / f"{name}.om", out / f"{name}.yaml") if p.exists()]
    if existing and not force:
        raise _fail(f"{existing[0]} already exists; choose another --name, or pass --force to overwrite it")
    windows = []
    for w in window or []:
        if "/" not in w:
            raise _fail(f"--window {w!r}: expected START/END")
        ws, we = w.split("/", 1)
        _time(ws, "--window start")
        _time(we, "--window end")
        windows.append((ws, we))
    try:
        req = RecordRequest(
            prometheus, tuple(match), _time(start, "--start"), _time(end, "--end"), chunk_s=chunk
        )
        # The manifest first: a flag missing for an incident fails before any query.
        manifest = manifest_skeleton(
            name,
            f"{name}.om",
            start,
            end,
            kind=kind,
            description=description,
            source_detail=source_detail
            or f"obsbox record --prometheus {prometheus} " + " ".join(f"--match '{m}'" for m in match),
            windows=windows,
            expect_alert=expect_alert,
            within=within,
        )
        series = fetch(req)
    except (RecordError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if not series:
        raise _fail(f"no samples match {list(match)} between {start} and {end}")
    write_recording(out, manifest, series)
    samples = sum(len(s.timestamps_ms) for s in series)
    typer.echo(
        f"wrote {out / (name + '.om')}: {len(series)} series, {samples} samples; manifest {out / (name + '.yaml')}"
    )


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("record")(record)
    app.add_typer(rules_app, name="rules")
