"""The tune report opened in Debian's Chromium: the Pareto plot draws, without console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tune_process import run_obsbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_tune_html_report_draws_the_pareto_plot(shipped: Path, block_cache: Path, tmp_path: Path) -> None:
    """Every variant is a point, the front a line, current and recommended marked; no error, no network."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
    report = tmp_path / "tune.html"
    proc = run_obsbox(
        "tune", "--alert", "SloAvailabilityBurnRateFast", "--rules", shipped, "--incidents", shipped / "incidents",
        "--slos", shipped / "slos.yaml", "--sweep", "factor=0.5,1", "--sweep", "for=0s,2m,5m", "--html", report,
        cache=block_cache,
    )
    assert proc.returncode == 0, proc.stderr
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request {r.url}") if not r.url.startswith(("file:", "data:", "blob:")) else None)
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('#pareto-0 .main-svg').length >= 1")
            traces = page.evaluate(
                "() => document.getElementById('pareto-0').data.map(t => [t.name, (t.x || []).length])"
            )
            points = page.locator("#pareto-0 .scatterlayer .points path").count()
        finally:
            browser.close()
    assert problems == []
    names = [name for name, _ in traces]
    assert names[0] == "variants" and dict(traces)["variants"] == 6
    assert "Pareto front" in names
    assert any(name.startswith("current (v000)") for name in names)
    assert any(name.startswith("recommended (v") for name in names)
    assert points >= 6 + 2  # every variant, plus the two marks
