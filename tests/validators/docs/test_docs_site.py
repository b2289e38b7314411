"""The documentation site: `mkdocs build --strict` of mkdocs.yml, as `make docs` runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_docs_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """The site builds with no warning, and every page under docs/ is in the navigation and rendered."""
    proc = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    nav = _nav_pages(config["nav"])
    assert sorted(nav) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    for page in nav:
        html = "index.html" if page == "index.md" else f"{page.removesuffix('.md')}/index.html"
        assert (tmp_path / "site" / html).is_file(), page


def test_docs_site_build_fails_on_a_broken_link_or_anchor(tmp_path: Path) -> None:
    """A link to a missing page, or to a heading a page does not have, fails the build naming it."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    for bad in ("[gone](no-such-page.md)", "[gone](deploy.md#no-such-heading)"):
        page = tmp_path / "docs" / "index.md"
        original = page.read_text()
        page.write_text(original + f"\n{bad}\n")
        proc = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
        page.write_text(original)
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, bad
        assert bad.split("(")[1].rstrip(")").split("#")[-1] in output and "strict mode" in output, output
