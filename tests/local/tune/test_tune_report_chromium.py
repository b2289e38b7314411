"""The tune report opened in Debian's Chromium: the Pareto plot draws, without console errors."""

from __future__ import annotations

from pathlib import Path

from tune_process import run_obsbox

from tests.chromium import needs_chromium, report_page


@needs_chromium
def test_tune_html_report_draws_the_pareto_plot(shipped: Path, block_cache: Path, tmp_path: Path) -> None:
    """Every variant is a point, the front a line, current and recommended marked; no error, no network."""
    report = tmp_path / "tune.html"
    proc = run_obsbox(
        "tune", "--alert", "SloAvailabilityBurnRateFast", "--rules", shipped, "--incidents", shipped / "incidents",
        "--slos", shipped / "slos.yaml", "--sweep", "factor=0.5,1", "--sweep", "for=0s,2m,5m", "--html", report,
        cache=block_cache,
    )
    assert proc.returncode == 0, proc.stderr
    problems: list[str] = []
    with report_page(report, problems) as page:
        page.wait_for_function("document.querySelectorAll('#pareto-0 .main-svg').length >= 1")
        traces = page.evaluate("() => document.getElementById('pareto-0').data.map(t => [t.name, (t.x || []).length])")
        points = page.locator("#pareto-0 .scatterlayer .points path").count()
    assert problems == []
    names = [name for name, _ in traces]
    assert names[0] == "variants" and dict(traces)["variants"] == 6
    assert "Pareto front" in names
    assert any(name.startswith("current (v000)") for name in names)
    assert any(name.startswith("recommended (v") for name in names)
    assert points >= 6 + 2  # every variant, plus the two marks
