"""The subcommands that replaced the `python -m` entry points: help, the one failure style, and
the --check of every generated file (what `make check-generated` runs in `make test`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from obsbox.cli import app

ROOT = Path(__file__).resolve().parents[3]
FOLDED = [
    ["rules", "compare"],
    ["corpus", "generate"],
    ["corpus", "record-demo"],
    ["contract-doc"],
    ["dashboards", "build"],
    ["demo", "up"],
    ["demo", "down"],
]
# What `make generate` runs (the Makefile's GENERATORS), each with --check: the pure ones here,
# the collector builder (a Go process) in tests/local/binaries/test_binaries_sources.py.
GENERATORS = [["dashboards", "build"], ["rules", "render"], ["contract-doc"], ["corpus", "generate"]]
GO_GENERATORS = [["binaries", "sources"]]


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("command", FOLDED, ids=" ".join)
def test_folded_command_help_shows_no_type_names(command: list[str]) -> None:
    """Each folded command has a help screen without Python type names as metavars."""
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert re.findall(r"<(?:bool|path|int|str|float|text|list\[[^\]]*\])>", result.stdout, re.I) == []


def test_makefile_generators_are_the_tested_ones() -> None:
    """`make generate` and `make check-generated` run exactly the generators this file checks."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^GENERATORS := (.*)$", makefile, re.M)
    assert line is not None
    assert re.findall(r'"([^"]+)"', line.group(1)) == [" ".join(g) for g in GENERATORS + GO_GENERATORS]
    assert re.search(r"^test: .*\bcheck-generated\b", makefile, re.M)


@pytest.mark.parametrize("generator", GENERATORS, ids=" ".join)
def test_checked_in_generated_files_are_current(generator: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every generated file in the repository is what its generator writes now."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [*generator, "--check"])
    assert result.exit_code == 0, result.output


def test_contract_doc_check_names_a_stale_page_and_a_run_repairs_it(tmp_path: Path) -> None:
    """A hand-edited contract table fails --check (exit 1, one line naming the page); a run restores it."""
    page = tmp_path / "instrumentation.md"
    original = (ROOT / "docs" / "instrumentation.md").read_text()
    page.write_text(original.replace("| `obsbox_job_workers` |", "| `obsbox_job_workerz` |"))
    check = CliRunner().invoke(app, ["contract-doc", "--page", str(page), "--check"])
    assert check.exit_code == 1
    assert str(page) in _one_error_line(check)
    assert CliRunner().invoke(app, ["contract-doc", "--page", str(page)]).exit_code == 0
    assert page.read_text() == original


def test_contract_doc_refuses_a_page_without_markers(tmp_path: Path) -> None:
    """A page without the marked blocks is bad input: exit 2, one line naming the page and the block."""
    page = tmp_path / "page.md"
    page.write_text("# no tables here\n")
    result = CliRunner().invoke(app, ["contract-doc", "--page", str(page)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert str(page) in line and "metrics" in line
    assert page.read_text() == "# no tables here\n"


def test_corpus_check_names_a_changed_recording(tmp_path: Path) -> None:
    """`corpus generate --check` exits 1 naming a generated file that was edited by hand."""
    names = ["http-5xx-spike", "host-down"]
    assert CliRunner().invoke(app, ["corpus", "generate", "--out", str(tmp_path), *names]).exit_code == 0
    assert CliRunner().invoke(app, ["corpus", "generate", "--out", str(tmp_path), "--check", *names]).exit_code == 0
    manifest = tmp_path / "host-down.yaml"
    manifest.write_text(manifest.read_text().replace("do not edit", "edited"))
    result = CliRunner().invoke(app, ["corpus", "generate", "--out", str(tmp_path), "--check", *names])
    assert result.exit_code == 1
    assert "host-down.yaml" in _one_error_line(result) and "http-5xx-spike" not in result.stderr


def test_corpus_generate_refuses_an_unknown_name(tmp_path: Path) -> None:
    """An unknown recording name is bad input: exit 2, one line, nothing written."""
    result = CliRunner().invoke(app, ["corpus", "generate", "--out", str(tmp_path), "no-such-scenario"])
    assert result.exit_code == 2
    assert "no-such-scenario" in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_corpus_record_demo_refuses_an_unknown_entry(tmp_path: Path) -> None:
    """record-demo of an entry it has no plan for: exit 2 and one line listing the known ones."""
    result = CliRunner().invoke(app, ["corpus", "record-demo", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "recorded-5xx-spike" in _one_error_line(result)


def test_dashboards_check_names_stale_files(tmp_path: Path) -> None:
    """`dashboards build --check` on an edited build exits 1 with one line naming the file."""
    shutil.copytree(ROOT / "dashboards" / "build", tmp_path / "build")
    (tmp_path / "build" / "slo.json").write_text("{}\n")
    result = CliRunner().invoke(app, ["dashboards", "build", "--out", str(tmp_path / "build"), "--check"])
    assert result.exit_code == 1
    assert "slo.json" in _one_error_line(result)


def test_rules_compare_refuses_a_missing_naive_file(tmp_path: Path) -> None:
    """A --naive file that does not exist: exit 2 with one line naming it, before any replay."""
    result = CliRunner().invoke(
        app, ["rules", "compare", "--rules-dir", str(ROOT / "alert_rules"), "--naive", str(tmp_path / "x.yaml")]
    )
    assert result.exit_code == 2
    assert str(tmp_path / "x.yaml") in _one_error_line(result)


@pytest.mark.parametrize("verb", ["up", "down"])
def test_demo_refuses_to_run_without_root(verb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root: `obsbox demo up/down` exits 2 with one line saying why, touching nothing."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = CliRunner().invoke(app, ["demo", verb])
    assert result.exit_code == 2
    assert "needs root" in _one_error_line(result)
