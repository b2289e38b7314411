"""The HTML report as text: plots per recording and rule, bands, escaping, no external resources."""

from __future__ import annotations

import dataclasses
import json
import re

from replay_builders import MIN, P, make_evaluation, make_recording, make_rule, states_firing

from obsbox.replay.report_html import decimate, fmt_ratio, render_html, rule_labels, state_runs
from obsbox.replay.scoring import score

FAKE_JS = "window.Plotly = {newPlot: function () {}};"


def _page(rule_name: str = "HighErrors") -> str:
    rec = make_recording("spike")
    ev = make_evaluation([make_rule(rule_name, states=states_firing(61, [(12, 20)], pending=[(11, 11)]))])
    return render_html(score([(rec, ev)]), [(rec, ev)], plotly_js=FAKE_JS)


def _plots(page: str) -> list[tuple[str, list, dict]]:
    calls = re.findall(r'Plotly\.newPlot\(("[^"]+"), (.*), (\{"title".*\}), \{"displaylogo"', page)
    return [(json.loads(i), json.loads(d), json.loads(layout)) for i, d, layout in calls]


def test_state_runs_split_pending_and_firing() -> None:
    """Pending and firing runs come out as [first, last] timestamp pairs."""
    rule = make_rule(states=states_firing(61, [(12, 20)], pending=[(10, 11)]))
    runs = state_runs([i * MIN for i in range(61)], rule)
    assert runs == {"pending": [(10 * MIN, 11 * MIN)], "firing": [(12 * MIN, 20 * MIN)]}


def test_state_runs_take_strongest_state_across_alerts() -> None:
    """With one alert pending and another firing at the same time, the band is firing."""
    rule = make_rule(states={(("a", "1"),): [P, P, P], (("a", "2"),): states_firing(3, [(1, 1)])})
    assert state_runs([0, 1, 2], rule) == {"pending": [(0, 0), (2, 2)], "firing": [(1, 1)]}


def test_page_has_one_plot_per_recording_and_rule_with_bands_and_window() -> None:
    """The page plots the rule with a window band, a pending band and a firing band."""
    plots = _plots(_page())
    assert len(plots) == 1
    _, _, layout = plots[0]
    colours = [s["fillcolor"] for s in layout["shapes"] if s["type"] == "rect"]
    assert len(colours) == 3
    assert layout["shapes"][-1]["x0"] == "1970-01-01T00:10:00"
    assert layout["shapes"][-1]["x1"] == "1970-01-01T00:20:00"


def test_page_is_self_contained() -> None:
    """The page loads nothing from the network: no src= or href= to http(s)."""
    page = _page()
    assert FAKE_JS in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)


def test_names_are_escaped() -> None:
    """A rule name with markup appears escaped in tables and cannot close a script element."""
    page = _page("<script>alert(1)</script>")
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_decimate_keeps_extremes() -> None:
    """Decimating 10,000 points to about 100 keeps the single spike."""
    ts = list(range(10_000))
    vs: list[float | None] = [0.0] * 10_000
    vs[4321] = 99.0
    out_ts, out_vs = decimate(ts, vs, 100)
    assert len(out_ts) <= 102
    assert 99.0 in out_vs and 4321 in out_ts


def test_fmt_ratio_uses_dash_for_none() -> None:
    """A missing ratio shows as an em dash, never 0%."""
    assert fmt_ratio(None) == "\u2014"
    assert fmt_ratio(0.5) == "0.50"


def test_rules_sharing_a_name_are_told_apart() -> None:
    """Two rules with one alertname are labelled with their file and group; unique names stay bare."""
    rec = make_recording("spike")
    ev = make_evaluation([make_rule("A", group="g1"), make_rule("A", group="g2"), make_rule("B")])
    labels = rule_labels(score([(rec, ev)]).rules)
    assert labels == ["A (rules.yaml: g1)", "A (rules.yaml: g2)", "B"]


def test_watchdog_and_inactive_rules_are_folded_and_drawn_on_opening() -> None:
    """An always-firing info/none alert and a rule that never fired go into folded sections whose
    plots are drawn when opened; the firing rule is drawn at load; a table of contents links each
    recording."""
    from obsbox.replay.model import ExpressionPlot, PlotSeries

    rec = make_recording("spike")
    firing = make_rule("HighErrors", states=states_firing(61, [(12, 20)]))
    watchdog = make_rule("Watchdog", states=states_firing(61, [(0, 60)]), severity="none")
    quiet = make_rule("SlowRequests", severity="warning")
    quiet = dataclasses.replace(quiet, plot=ExpressionPlot("latency", ">", 0.5, (PlotSeries({}, [0.45] * 61),)))
    ev = make_evaluation([firing, watchdog, quiet])
    page = render_html(score([(rec, ev)]), [(rec, ev)], plotly_js=FAKE_JS)
    eager = [div_id for div_id, _, _ in _plots(page)]
    assert eager == ["plot-0-0"]
    folded = re.findall(r'<details class="fold (\w+)">.*?</details>', page)
    assert folded == ["inactive", "silent"]
    silent = re.search(r'<details class="fold silent">(.*?)</details>', page)
    assert silent is not None and 'id="plot-0-1"' in silent.group(1)
    assert '"plot-0-2": [' in page and '"plot-0-1": [' in page  # drawn lazily from FOLDED
    assert '<a href="#rec-0">spike</a>' in page and 'id="rec-0"' in page


def test_threshold_is_inside_the_y_range_and_near_miss_is_named() -> None:
    """A value peaking at 0.048 under a 0.05 threshold: the y axis includes 0.05 and the title
    names the near miss."""
    from obsbox.replay.model import ExpressionPlot, PlotSeries
    from obsbox.replay.report_html import figure

    rule = make_rule("HighErrors", severity="critical")
    values: list[float | None] = [0.001] * 60 + [0.048]
    rule = dataclasses.replace(rule, plot=ExpressionPlot("ratio", ">", 0.05, (PlotSeries({}, values),)))
    fig = figure("HighErrors", [i * MIN for i in range(61)], rule, [], (0, 60 * MIN))
    low, high = fig["layout"]["yaxis"]["range"]
    assert low < 0.05 < high and low < 0.001
    assert "peak 0.048 vs threshold > 0.05 (96% of it)" in fig["layout"]["title"]["text"]


def test_pages_on_noise_are_one_line_per_rule_in_the_page() -> None:
    """A critical rule firing 3 times on noise: one line per rule on the page, not one per episode."""
    rec = make_recording("night", kind="noise", windows=[])
    ev = make_evaluation([make_rule("Noisy", states=states_firing(61, [(5, 6), (20, 21), (40, 41)]))])
    page = render_html(score([(rec, ev)]), [(rec, ev)], plotly_js=FAKE_JS)
    assert "Noisy: 3 pages on 1 noise recording" in page
    assert "Noisy (severity critical) fired 3 time(s), but critical must stay quiet" in page
    assert "fired 1970-01-01T00:05:00Z" not in page
