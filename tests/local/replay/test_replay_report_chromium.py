"""The HTML report opened in Debian's Chromium: it renders every plot, without console errors."""

from __future__ import annotations

from pathlib import Path

from replay_process import run_obsbox

from tests.chromium import needs_chromium, report_page


@needs_chromium
def test_html_report_renders_in_chromium_without_errors(
    replay_rules: Path, replay_corpus: Path, replay_tmpdir: Path, tmp_path: Path
) -> None:
    """Every recording-and-rule plot draws, with no console error, page error or network request."""
    report = tmp_path / "report.html"
    result = run_obsbox("replay", "--rules", replay_rules, "--incidents", replay_corpus, "--html", report, tmpdir=replay_tmpdir)
    assert result.returncode == 0, result.stderr
    problems: list[str] = []
    with report_page(report, problems) as page:
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
