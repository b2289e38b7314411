"""What the README and the docs pages promise about themselves and about the `obsbox` command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from obsbox.cli import app

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "instrumentation" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `obsbox WORD [WORD]` at the start of inline code or of a line in a code block (also after
# `.venv/bin/` or `../.venv/bin/`): the commands the docs tell people to type.
COMMAND = re.compile(r"^(?:\.\./)?(?:\.venv/bin/)?obsbox((?: [a-z][a-z-]*)+)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def _code(text: str) -> list[str]:
    """Lines of the fenced code blocks, then the inline code spans outside them."""
    lines = [line.strip() for block in FENCE.findall(text) for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", FENCE.sub("", text))


def test_readme_is_under_15_kb() -> None:
    """The README stays a first read: under 15 KB, the rest lives in docs/."""
    assert len((ROOT / "README.md").read_bytes()) < 15_000


def test_readme_starts_with_the_two_commands() -> None:
    """The first code block of the README is `make demo` and `make test`, before the three jobs."""
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert first_block is not None
    assert [line.split()[:2] for line in first_block.group(1).splitlines()] == [["make", "demo"], ["make", "test"]]
    jobs = [text.index(h) for h in ("### 1. Provision", "### 2. Instrument", "### 3. Replay")]
    assert first_block.end() < jobs[0] < jobs[1] < jobs[2]


@pytest.mark.parametrize("page", [PAGES[0], PAGES[1]], ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_relative_links_point_at_files(page: Path) -> None:
    """Every relative link of a README (the site build checks docs/ itself) names an existing file."""
    links = [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()) if "://" not in t]
    for target in links:
        assert (page.parent / target).exists(), f"{page.name}: {target}"


def _command_paths() -> set[tuple[str, ...]]:
    """Every command path of the obsbox CLI: ("replay",), ("rules", "render"), ..."""
    root = typer.main.get_command(app)
    paths: set[tuple[str, ...]] = set()
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):  # a group (typer's own click classes in typer 0.2x)
            paths.update((name, sub) for sub in command.commands)
        else:
            paths.add((name,))
    return paths


def test_every_documented_obsbox_command_exists() -> None:
    """Each `obsbox ...` the README and the docs pages show is a real command (or group and subcommand)."""
    paths = _command_paths()
    groups = {p[0] for p in paths if len(p) == 2}
    seen = 0
    for page in PAGES:
        for match in filter(None, map(COMMAND.match, _code(page.read_text()))):
            words = match.group(1).split()
            want = tuple(words[:2]) if words[0] in groups and len(words) > 1 else (words[0],)
            assert want in paths or (len(words) == 1 and words[0] in groups), f"{page.relative_to(ROOT)}: `obsbox {' '.join(words)}` is no obsbox command"
            seen += 1
    assert seen >= 20  # the pattern really finds the documented commands


IMPORT = re.compile(r"^from ((?:obsbox|obsbox_instrumentation)(?:\.\w+)*) import ([\w, ]+)")


def test_every_python_import_the_docs_show_resolves() -> None:
    """`from obsbox... import name` lines in the docs' code blocks name modules and names that
    exist (a moved module makes the page wrong; this fails then)."""
    import importlib

    seen = 0
    for page in PAGES:
        for line in _code(page.read_text()):
            match = IMPORT.match(line)
            if not match:
                continue
            module = importlib.import_module(match.group(1))
            for name in (n.strip() for n in match.group(2).split(",") if n.strip()):
                assert hasattr(module, name) or importlib.util.find_spec(f"{match.group(1)}.{name}"), (
                    f"{page.name}: {line}"
                )
            seen += 1
    assert seen >= 2
