"""The replay report as one self-contained HTML page (plotly.js inlined, no network needed).

Per recording and rule: the expression's value over time, the threshold, the pending and firing
bands and the impact windows; then the summary tables. Everything here is a pure function from
scores and evaluations to text; figures are plain plotly JSON handed to ``Plotly.newPlot`` so
that no figure object validation runs for hundreds of plots.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from obsbox.formats import format_duration, format_time
from obsbox.replay.engine_info import EngineInfo
from obsbox.replay.model import AlertRuleResult, AlertState, Evaluation
from obsbox.replay.openmetrics import format_series_name
from obsbox.replay.recording import SILENT_SEVERITIES, Recording
from obsbox.replay.scoring import RecordingResult, RuleScore, Scores, Stat, quiet_by_rule

# Beyond this many points per trace the browser slows down; keep each bucket's extremes.
MAX_POINTS_PER_TRACE = 4000
MAX_TRACES_PER_PLOT = 12
DASH = "\u2014"

_COLOURS = {"pending": "rgba(255, 170, 0, 0.25)", "firing": "rgba(220, 30, 30, 0.25)", "window": "rgba(40, 90, 200, 0.15)"}


@dataclass(frozen=True)
class Trace:
    name: str
    timestamps_ms: Sequence[int]
    values: Sequence[float | None]


def fmt_ratio(value: float | None) -> str:
    """One format for every ratio in a column (0.00 .. 1.00), never a percentage beside a decimal."""
    return DASH if value is None else f"{value:.2f}"


def fmt_caught(rule: RuleScore) -> str:
    """``caught of windows``; "no data" when every window naming the rule found its expression
    empty; an em dash when no window is charged to the rule (never "0 of 0")."""
    if rule.windows == 0:
        return "no data" if rule.no_data_windows else DASH
    text = f"{rule.caught} of {rule.windows}"
    return f"{text} (+{rule.no_data_windows} no data)" if rule.no_data_windows else text


def fmt_seconds(value: float | None) -> str:
    return DASH if value is None else format_duration(value)


def fmt_stat(stat: Stat) -> str:
    return f"{fmt_seconds(stat.median)} / {fmt_seconds(stat.max)}"


def state_runs(timestamps_ms: Sequence[int], rule: AlertRuleResult) -> dict[str, list[tuple[int, int]]]:
    """Runs of the rule's strongest state across its alert instances: pending and firing bands."""
    rank = {AlertState.INACTIVE: 0, AlertState.PENDING: 1, AlertState.FIRING: 2}
    strongest = [0] * len(timestamps_ms)
    for alert in rule.alerts:
        for i, state in enumerate(alert.states):
            if rank[state] > strongest[i]:
                strongest[i] = rank[state]
    runs: dict[str, list[tuple[int, int]]] = {"pending": [], "firing": []}
    names = {1: "pending", 2: "firing"}
    i = 0
    while i < len(strongest):
        level = strongest[i]
        j = i
        while j + 1 < len(strongest) and strongest[j + 1] == level:
            j += 1
        if level:
            runs[names[level]].append((timestamps_ms[i], timestamps_ms[j]))
        i = j + 1
    return runs


def decimate(timestamps_ms: Sequence[int], values: Sequence[float | None], limit: int) -> tuple[list[int], list[float | None]]:
    """At most about ``limit`` points, keeping each bucket's min and max so spikes stay visible."""
    n = len(timestamps_ms)
    if n <= limit:
        return list(timestamps_ms), list(values)
    bucket = math.ceil(n / (limit / 2))
    ts_out: list[int] = []
    vs_out: list[float | None] = []
    for lo in range(0, n, bucket):
        idx = [i for i in range(lo, min(lo + bucket, n)) if values[i] is not None]
        if not idx:
            ts_out.append(timestamps_ms[lo])
            vs_out.append(None)
            continue
        low = min(idx, key=lambda i: values[i])  # type: ignore[arg-type,return-value]
        high = max(idx, key=lambda i: values[i])  # type: ignore[arg-type,return-value]
        for i in sorted({low, high}):
            ts_out.append(timestamps_ms[i])
            vs_out.append(values[i])
    return ts_out, vs_out


def rule_traces(timestamps_ms: Sequence[int], rule: AlertRuleResult) -> tuple[list[Trace], float | None]:
    """What to draw for a rule: the comparison's left-hand side and threshold when the engine
    could split them off, else the alert values (which only exist where the alert was active)."""
    if rule.plot is not None and rule.plot.series:
        traces = [
            Trace(format_series_name(s.labels) or rule.plot.expr, timestamps_ms, s.values) for s in rule.plot.series
        ]
        return traces, rule.plot.threshold
    traces = [
        Trace(format_series_name({k: v for k, v in a.labels.items() if k != "alertname"}) or rule.name, timestamps_ms, a.values)
        for a in rule.alerts
    ]
    return traces, rule.plot.threshold if rule.plot is not None else None


def _iso(ms: int) -> str:
    return format_time(ms).replace("Z", "")


def figure(
    title: str,
    timestamps_ms: Sequence[int],
    rule: AlertRuleResult,
    windows: Iterable[tuple[int, int]],
    x_range: tuple[int, int],
) -> dict[str, Any]:
    """A plotly figure (plain JSON) of one rule on one recording."""
    traces, threshold = rule_traces(timestamps_ms, rule)
    data: list[dict[str, Any]] = []
    for trace in traces[:MAX_TRACES_PER_PLOT]:
        ts, vs = decimate(trace.timestamps_ms, trace.values, MAX_POINTS_PER_TRACE)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": trace.name[:80],
                "x": [_iso(t) for t in ts],
                "y": [v if v is None or math.isfinite(v) else None for v in vs],
                "connectgaps": False,
            }
        )
    shapes: list[dict[str, Any]] = []
    for kind, runs in state_runs(timestamps_ms, rule).items():
        for start, end in runs:
            shapes.append(_band(start, end, _COLOURS[kind]))
    # Windows last and outlined, so a firing band over the same time does not hide them.
    for start, end in windows:
        shapes.append({**_band(start, end, _COLOURS["window"]), "line": {"color": "rgb(40, 90, 200)", "width": 1, "dash": "dot"}})
    yaxis: dict[str, Any] = {"title": {"text": "value"}}
    title_text = title
    if threshold is not None and math.isfinite(threshold):
        # The threshold is always inside the y range, so a value that came close without crossing
        # shows as a near miss instead of the dashed line sitting off the chart.
        finite = [v for t in data for v in t["y"] if v is not None]
        closest = near_miss(finite, rule.plot.op if rule.plot is not None else ">", threshold)
        if finite:
            low, high = min([*finite, threshold]), max([*finite, threshold])
            pad = (high - low) * 0.08 or abs(threshold) * 0.1 or 1.0
            yaxis["range"] = [low - pad, high + pad]
        if closest is not None:
            title_text = f"{title} \u2014 {closest}"
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": threshold,
                "y1": threshold,
                "line": {"color": "black", "dash": "dash", "width": 1},
            }
        )
    if not data:
        # An axis with nothing on it still shows the bands; give plotly a point to lay it out.
        data.append({"type": "scatter", "mode": "lines", "name": "no result", "x": [_iso(x_range[0])], "y": [None]})
    layout = {
        "title": {"text": title_text, "font": {"size": 14}},
        "height": 280,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "xaxis": {"type": "date", "range": [_iso(x_range[0]), _iso(x_range[1])]},
        "yaxis": yaxis,
        "shapes": shapes,
        "showlegend": len(data) > 1,
        "legend": {"orientation": "h"},
    }
    return {"data": data, "layout": layout}


def near_miss(values: Sequence[float], op: str, threshold: float) -> str | None:
    """How close the value came to the threshold: ``peak 0.048 vs threshold > 0.05 (96%)``."""
    if not values:
        return None
    upward = op in (">", ">=")
    if not upward and op not in ("<", "<="):
        return None
    extreme = max(values) if upward else min(values)
    word = "peak" if upward else "lowest"
    share = f" ({extreme / threshold:.0%} of it)" if threshold and extreme / threshold > 0 else ""
    return f"{word} {extreme:.4g} vs threshold {op} {threshold:.4g}{share}"


def _band(start_ms: int, end_ms: int, colour: str) -> dict[str, Any]:
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": _iso(start_ms),
        "x1": _iso(end_ms),
        "y0": 0,
        "y1": 1,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": "below",
    }


def _worth_plotting(rule: AlertRuleResult, recording: Recording) -> bool:
    if rule.alerts or (rule.plot is not None and rule.plot.series):
        return True
    return any(e.names_rule(rule.name, rule.severity) for e in recording.manifest.fire)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def summary_table(scores: Scores) -> str:
    s = scores.summary
    return _table(
        ["recordings", "passed", "caught", "recall", "precision", "noise pages", "detection median / max", "reset median / max"],
        [
            [
                s.recordings,
                "yes" if s.passed else "no",
                f"{s.caught} of {s.windows}",
                fmt_ratio(s.recall),
                fmt_ratio(s.precision),
                s.noise_pages,
                fmt_stat(s.detection_s),
                fmt_stat(s.reset_s),
            ]
        ],
    )


def rule_labels(rules: Sequence[RuleScore]) -> list[str]:
    """Each rule's alertname, with its file and group where two rules share the name."""
    counts: dict[str, int] = {}
    for r in rules:
        counts[r.alert] = counts.get(r.alert, 0) + 1
    return [
        r.alert if counts[r.alert] == 1 else f"{r.alert} ({r.source_file.rsplit('/', 1)[-1]}: {r.group})" for r in rules
    ]


def rules_table(rules: Sequence[RuleScore]) -> str:
    return _table(
        ["alert", "severity", "caught", "recall", "precision", "episodes", "noise episodes", "detection median / max", "reset median / max"],
        [
            [
                label,
                r.severity or DASH,
                fmt_caught(r),
                fmt_ratio(r.recall),
                fmt_ratio(r.precision),
                r.episodes,
                r.noise_episodes,
                fmt_stat(r.detection_s),
                fmt_stat(r.reset_s),
            ]
            for r, label in zip(rules, rule_labels(rules))
        ],
    )


def _active(rule: AlertRuleResult) -> bool:
    return any(state is not AlertState.INACTIVE for alert in rule.alerts for state in alert.states)


def _silent(rule: AlertRuleResult) -> bool:
    return rule.severity in SILENT_SEVERITIES


def _anchor(index: int) -> str:
    return f"rec-{index}"


def _recording_section(
    index: int,
    recording: Recording,
    evaluation: Evaluation,
    result: RecordingResult,
    figures: list[tuple[str, dict[str, Any]]],
    folded: list[tuple[str, dict[str, Any]]],
) -> str:
    """One recording: its windows and failures; plots of the rules that were pending or firing, or
    that its expectations name; folded (drawn when opened): rules that stayed inactive but have a
    value to show (a near miss), and always-firing info/none alerts such as a Watchdog."""
    status = "passed" if result.passed else "failed"
    parts = [
        f'<section class="recording {status}" id="{_anchor(index)}"><h2>{_e(result.name)} <small>({_e(result.kind)}, {status})</small></h2>',
        f"<p>{_e(result.description)}</p>",
        f"<p>{_e(format_time(result.start_ms))} .. {_e(format_time(result.end_ms))}</p>",
    ]
    if result.windows:
        parts.append(
            _table(
                ["window", "caught", "detection", "reset"],
                [
                    [
                        f"{format_time(w.window.start_ms)} .. {format_time(w.window.end_ms)}",
                        "yes" if w.caught else "no",
                        fmt_seconds(w.detection_s),
                        fmt_seconds(w.reset_s),
                    ]
                    for w in result.windows
                ],
            )
        )
    if result.violations:
        # Missed windows one by one; episodes of a quiet severity summed up per rule (a noisy rule
        # would otherwise list hundreds of lines).
        items = [v for v in result.violations if not _is_quiet_violation(v, result)]
        items += [
            f"{q.alert} (severity {q.severity}) fired {q.episodes} time(s), but {q.severity} must stay quiet"
            for q in quiet_by_rule([result])
        ]
        parts.append("<ul class=failures>" + "".join(f"<li>{_e(v)}</li>" for v in items) + "</ul>")
    windows = [(w.start_ms, w.end_ms) for w in recording.manifest.windows]
    shown: list[str] = []
    near: list[str] = []
    silent: list[str] = []
    quiet = []
    for j, rule in enumerate(evaluation.rules):
        if not _worth_plotting(rule, recording):
            quiet.append(rule.name)
            continue
        div_id = f"plot-{index}-{j}"
        fig = figure(f"{rule.name} ({rule.group})", evaluation.timestamps_for(rule), rule, windows, (result.start_ms, result.end_ms))
        div = f'<div class="plot" id="{div_id}"></div>'
        named = any(e.alert == rule.name for e in recording.manifest.fire)
        if _silent(rule) and not named:
            silent.append(div)
            folded.append((div_id, fig))
        elif _active(rule) or named:
            shown.append(div)
            figures.append((div_id, fig))
        else:
            near.append(div)
            folded.append((div_id, fig))
    parts.extend(shown)
    if near:
        parts.append(
            f'<details class="fold inactive"><summary>{len(near)} rule(s) never pending or firing here '
            "(open to see how close each came to its threshold)</summary>" + "".join(near) + "</details>"
        )
    if silent:
        parts.append(
            f'<details class="fold silent"><summary>{len(silent)} info/none alert(s) that notify no one '
            "(a Watchdog fires all the time by design)</summary>" + "".join(silent) + "</details>"
        )
    if quiet:
        parts.append(f"<p class=quiet>No pending or firing alerts, nothing to plot: {_e(', '.join(quiet))}</p>")
    parts.append("</section>")
    return "".join(parts)


def _is_quiet_violation(violation: str, result: RecordingResult) -> bool:
    return violation.endswith("must stay quiet") and bool(result.quiet_episodes)


def quiet_list(scores: Scores) -> str:
    """One line per rule that fired at a severity that must stay quiet (pages on noise)."""
    if not scores.summary.quiet:
        return ""
    return "<ul class=failures>" + "".join(f"<li>{_e(q.describe())}</li>" for q in scores.summary.quiet) + "</ul>"


def table_of_contents(scores: Scores) -> str:
    """Links to the summary, the rules and every recording, failed ones marked."""
    items = ['<li><a href="#summary">Summary</a></li>', '<li><a href="#rules">Rules</a></li>']
    recs = []
    for i, r in enumerate(scores.recordings):
        mark = "" if r.passed else ' <strong class="failed">failed</strong>'
        episodes = f"{len(r.episodes)} episode(s)"
        recs.append(f'<li><a href="#{_anchor(i)}">{_e(r.name)}</a> ({_e(r.kind)}, {episodes}){mark}</li>')
    items.append("<li>Recordings<ol>" + "".join(recs) + "</ol></li>")
    return '<nav id="toc"><h2>Contents</h2><ul>' + "".join(items) + "</ul></nav>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
section.failed h2, strong.failed { color: #b00; }
.legend span { display: inline-block; padding: 0 0.6em; margin-right: 0.5em; }
.failures { color: #b00; }
details.fold { margin: 0.5em 0; }
details.fold summary { cursor: pointer; color: #555; }
#toc ol { columns: 2; }
"""

# Folded plots are drawn when their section is first opened: a closed <details> has no size,
# and hundreds of plots nobody opens need not be laid out at load.
_LAZY = """
document.querySelectorAll("details.fold").forEach(function (d) {
  d.addEventListener("toggle", function () {
    if (!d.open) return;
    d.querySelectorAll(".plot").forEach(function (div) {
      var fig = FOLDED[div.id];
      if (fig && !div.classList.contains("js-plotly-plot")) {
        Plotly.newPlot(div.id, fig[0], fig[1], {"displaylogo": false, "responsive": true});
      }
    });
  });
});
"""


def _engine_paragraph(engine: EngineInfo | None) -> str:
    if engine is None:
        return ""
    warning = f' <strong class="warning">{_e(engine.warning)}</strong>' if engine.warning else ""
    return f'<p class="engine">Evaluated by Prometheus {_e(engine.version or "(unknown version)")}.{warning}</p>'


def render_html(
    scores: Scores,
    pairs: Sequence[tuple[Recording, Evaluation]],
    *,
    plotly_js: str,
    engine: EngineInfo | None = None,
) -> str:
    """The whole report page. ``plotly_js`` is the library's source, inlined for offline use."""
    figures: list[tuple[str, dict[str, Any]]] = []
    folded: list[tuple[str, dict[str, Any]]] = []
    sections = [
        _recording_section(i, recording, evaluation, result, figures, folded)
        for i, ((recording, evaluation), result) in enumerate(zip(pairs, scores.recordings))
    ]
    calls = "\n".join(
        f"Plotly.newPlot({json.dumps(div_id)}, {_script_json(fig['data'])}, {_script_json(fig['layout'])}, "
        '{"displaylogo": false, "responsive": true});'
        for div_id, fig in figures
    )
    lazy = (
        "var FOLDED = {"
        + ",\n".join(f"{json.dumps(div_id)}: [{_script_json(fig['data'])}, {_script_json(fig['layout'])}]" for div_id, fig in folded)
        + "};\n"
        + _LAZY
    )
    legend = "".join(
        f'<span style="background:{colour}">{_e(name)}</span>'
        for name, colour in (("impact window", _COLOURS["window"]), ("pending", _COLOURS["pending"]), ("firing", _COLOURS["firing"]))
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            "<title>obsbox replay report</title>",
            f"<style>{_STYLE}</style>",
            "<script>" + plotly_js.replace("</script", "<\\/script") + "</script>",
            "</head><body>",
            "<h1>obsbox replay report</h1>",
            _engine_paragraph(engine),
            table_of_contents(scores),
            '<h2 id="summary">Summary</h2>',
            summary_table(scores),
            quiet_list(scores),
            '<h2 id="rules">Rules</h2>',
            rules_table(scores.rules),
            f'<p class="legend">{legend} dashed line: threshold (always inside the y axis; the title says how close the value came)</p>',
            *sections,
            f"<script>\n{calls}\n{lazy}</script>",
            "</body></html>",
        ]
    )


def _script_json(value: Mapping[str, Any] | Sequence[Any]) -> str:
    # Inside <script>, "</script" would end the element early; \u003c is the same JSON string.
    return json.dumps(value, allow_nan=False).replace("<", "\\u003c")


def load_plotly_js() -> str:
    """plotly.js from the installed plotly package (the only side effect of this module)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())
