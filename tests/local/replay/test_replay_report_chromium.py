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
            page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 2")
            drawn_at_load = page.locator(".plot.js-plotly-plot").count()
            firing_bands = page.locator(".plot .shapelayer path").count()
            title = page.title()
            # The table of contents links every recording to its section.
            toc = page.eval_on_selector_all("#toc a", "as => as.map(a => a.getAttribute('href'))")
            missing = page.evaluate("hrefs => hrefs.filter(h => !document.querySelector(h))", toc)
            # The noise recording's rules stayed inactive: folded, drawn only when opened.
            folded = page.locator("details.fold").count()
            for summary in page.locator("details.fold > summary").all():
                summary.click()
            page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 4")
            drawn_after_opening = page.locator(".plot.js-plotly-plot").count()
            # Every threshold lies inside its plot's y range, and the title says how close the value came.
            thresholds = page.evaluate(
                """() => Array.from(document.querySelectorAll('.plot.js-plotly-plot')).map(gd => {
                    const line = (gd.layout.shapes || []).find(s => s.type === 'line');
                    return {id: gd.id, threshold: line ? line.y0 : null, range: gd._fullLayout.yaxis.range,
                            title: gd._fullLayout.title.text};
                })"""
            )
        finally:
            browser.close()
    assert problems == []
    assert drawn_at_load == 2  # http-5xx-spike: both rules fired
    assert folded == 1 and drawn_after_opening == 4  # quiet-night: 2 rules that never fired, folded
    assert firing_bands > 0
    assert title == "obsbox replay report"
    assert len(toc) == 2 + 2 and missing == []
    with_threshold = [t for t in thresholds if t["threshold"] is not None]
    assert len(with_threshold) == 4
    for t in with_threshold:
        low, high = t["range"]
        assert low < t["threshold"] < high, t
        assert "vs threshold >" in t["title"], t
