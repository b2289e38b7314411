"""The HTML report opened in Debian's Chromium: it renders every plot, without console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay_process import run_obsbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_html_report_renders_in_chromium_without_errors(
    replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path, tmp_path: Path
) -> None:
    """Every recording-and-rule plot draws, with no console error, page error or network request."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
    report = tmp_path / "report.html"
    result = run_obsbox("replay", "--rules", replay_rules, "--incidents", replay_corpus, "--html", report, tmpdir=replay_tmpdir)
    assert result.returncode == 0, result.stderr
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        # Playwright runs headless with a fresh temporary profile of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request {r.url}") if not r.url.startswith(("file:", "data:", "blob:")) else None)
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 4")
            plots = page.locator(".plot.js-plotly-plot").count()
            firing_bands = page.locator(".plot .shapelayer path").count()
            title = page.title()
        finally:
            browser.close()
    assert problems == []
    assert plots == 4  # 2 recordings x 2 rules
    assert firing_bands > 0
    assert title == "obsbox replay report"
