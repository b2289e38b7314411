"""`obsbox` itself through the CLI runner: --version, what --help promises, and metavars."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from obsbox.cli import app

COMMANDS = [
    ["replay"],
    ["promtool-test"],
    ["export-promtool"],
    ["record"],
    ["render"],
    ["import", "nab"],
    ["import", "promtool"],
    ["rules", "render"],
    ["binaries", "build"],
    ["binaries", "list"],
]


def test_version_prints_the_installed_version() -> None:
    """`obsbox --version` prints the distribution's version and exits 0."""
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"obsbox {version('obsbox')}"


def test_help_promises_only_verbs_that_exist() -> None:
    """The top-level help lists every verb it promises and does not offer to deploy the stack itself."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "deploy the stack" not in text
    assert "pyinfra" in text  # says where the deploy lives instead
    for verb in ("replay", "record", "render", "promtool-test", "export-promtool", "import", "rules"):
        assert re.search(rf"^\s+{re.escape(verb)}\s", result.stdout, re.M), verb


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_type_names_as_metavars(command: list[str]) -> None:
    """No help screen shows Python type names such as `<bool>`, `<path>` or `<list[Path]>`."""
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert re.findall(r"<(?:bool|path|int|str|float|text|list\[[^\]]*\])>", result.stdout, re.I) == []
    assert "--help " in result.stdout or result.stdout.rstrip().endswith("Show this message and exit.")
