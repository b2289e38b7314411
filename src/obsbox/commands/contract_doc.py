"""`obsbox contract-doc`: the signal contract's tables in the instrumentation page, from the code."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import typer

from obsbox.commands._exit import EXIT_FAILED, fail

DEFAULT_PAGE = Path("docs/instrumentation.md")
_BLOCK = re.compile(r"(<!-- obsbox contract-doc: (?P<name>[^(]+?) \([^)]*\) -->\n)(?P<body>.*?)(\n<!-- end: obsbox contract-doc -->)", re.S)


def _tables() -> Mapping[str, Callable[[], str]]:
    from obsbox_instrumentation.contract_doc import log_fields_table, metrics_table

    return {"metrics": metrics_table, "log fields": log_fields_table}


def spliced(text: str, tables: Mapping[str, Callable[[], str]], where: str) -> str:
    """text with each marked block's body replaced by its freshly rendered table (pure). Every
    table must have exactly one block; a block naming no known table is an error."""
    seen: list[str] = []

    def body(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in tables:
            raise ValueError(f"{where}: a contract-doc block names {name!r}; known: {', '.join(tables)}")
        seen.append(name)
        return f"{match.group(1)}\n{tables[name]()}\n{match.group(4)}"

    out = _BLOCK.sub(body, text)
    for name in tables:
        if seen.count(name) != 1:
            raise ValueError(
                f"{where}: expected one `<!-- obsbox contract-doc: {name} (...) -->` ... "
                f"`<!-- end: obsbox contract-doc -->` block, found {seen.count(name)}"
            )
    return out


def contract_doc(
    page: Annotated[
        Path, typer.Option("--page", metavar="FILE", help="The Markdown page holding the marked tables.")
    ] = DEFAULT_PAGE,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 when the page's tables are stale.")] = False,
) -> None:
    """Rewrite the metric and log-field tables of the signal contract (obsbox_instrumentation.contract)
    between their markers in the instrumentation page."""
    try:
        text = page.read_text(encoding="utf-8")
        new = spliced(text, _tables(), str(page))
    except ValueError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.filename or page}: {exc.strerror or exc}") from None
    if check:
        if new != text:
            raise fail(f"{page}: the contract tables are not what the contract renders; run `obsbox contract-doc`", code=EXIT_FAILED)
        typer.echo(f"{page} is up to date")
        return
    if new != text:
        page.write_text(new, encoding="utf-8")
    typer.echo(f"wrote {page}" if new != text else f"{page} is up to date")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.command("contract-doc")(contract_doc)
