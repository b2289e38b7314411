"""What `obsbox tune` shows: table rows, the Pareto plot, the HTML page and the JSON (pure).

Numbers are formatted once here so the terminal table, the HTML and the JSON agree.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from obsbox.replay.report_html import fmt_seconds
from obsbox.replay.report_json import attrs
from obsbox.tune.edit import FileChange
from obsbox.tune.run import PartResult, TuneResult
from obsbox.tune.scores import RECOMMENDATION_RULE, VariantScore

DASH = "—"


def fmt_recall(s: VariantScore) -> str:
    if s.recall is None:
        return DASH
    return f"{s.caught}/{s.windows} ({s.recall:.2f})"


def fmt_noise(s: VariantScore) -> str:
    per_week = s.noise_per_week
    return DASH if per_week is None else f"{per_week:.2f}"


def noise_heading(result: TuneResult) -> str:
    s = result.corpus.scores[0]
    return "noise pages/week" if s.pages else "noise tickets/week"


HEAD = ("variant", "changes", "recall", "noise/week", "detection med", "detection max", "reset med")


def row(result: TuneResult, part: PartResult, index: int) -> tuple[str, ...]:
    s = part.scores[index]
    v = result.variants[index]
    marks = []
    if index == 0:
        marks.append("current")
    if index == result.recommended and part.name == "corpus":
        marks.append("recommended")
    label = v.label(result.params)
    return (
        f"v{index:03d}" + (f" ({', '.join(marks)})" if marks else ""),
        label,
        fmt_recall(s),
        fmt_noise(s),
        fmt_seconds(s.detection_s.median),
        fmt_seconds(s.detection_s.max),
        fmt_seconds(s.reset_s.median),
    )


def table_indices(result: TuneResult) -> list[int]:
    """The Pareto front, plus the current rule and the recommendation, in variant order."""
    return sorted({*result.front, 0, result.recommended})


def generalization_rows(result: TuneResult) -> list[tuple[str, ...]]:
    """Current rule and the variant tuned on the tune part, scored on both parts."""
    if result.tune is None or result.held_out is None or result.tuned is None:
        return []
    out: list[tuple[str, ...]] = []
    for name, index in (("current", 0), (f"tuned v{result.tuned:03d}", result.tuned)):
        for part in (result.tune, result.held_out):
            s = part.scores[index]
            out.append(
                (
                    name,
                    f"{part.name} ({len(part.recordings)} recordings)",
                    fmt_recall(s),
                    fmt_noise(s),
                    fmt_seconds(s.detection_s.median),
                    fmt_seconds(s.detection_s.max),
                )
            )
    return out


GENERALIZATION_HEAD = ("rule", "scored on", "recall", "noise/week", "detection med", "detection max")


def pareto_figure(result: TuneResult) -> dict[str, Any]:
    """Noise per week against worst detection, one point per variant, recall as colour; the
    front joined by a line, the current rule and the recommendation marked."""
    part = result.corpus
    xs, ys, texts, colours = [], [], [], []
    for i, s in enumerate(part.scores):
        xs.append(s.noise_per_week if s.noise_per_week is not None else float(s.noise_episodes))
        ys.append(s.detection_s.max / 60 if s.detection_s.max is not None else None)
        texts.append(f"v{i:03d} {result.variants[i].label(result.params)} recall {fmt_recall(s)}")
        colours.append(s.recall if s.recall is not None else 0.0)
    front = sorted((i for i in result.front if ys[i] is not None), key=lambda i: (xs[i], ys[i]))
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "variants",
            "x": xs,
            "y": ys,
            "text": texts,
            "hoverinfo": "text",
            "marker": {
                "color": colours,
                "cmin": 0,
                "cmax": 1,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": "recall"}},
                "size": 9,
            },
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Pareto front",
            "x": [xs[i] for i in front],
            "y": [ys[i] for i in front],
            "line": {"color": "#555", "dash": "dot"},
            "hoverinfo": "skip",
        },
    ]
    for name, index, symbol in (("current", 0, "square-open"), ("recommended", result.recommended, "star")):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{name} (v{index:03d})",
                "x": [xs[index]],
                "y": [ys[index]],
                "text": [texts[index]],
                "hoverinfo": "text",
                "marker": {"symbol": symbol, "size": 18, "color": "#d62728", "line": {"width": 2}},
            }
        )
    layout = {
        "title": {
            "text": f"{result.target.alert}: {len(result.variants)} variants over {len(part.recordings)} recordings"
        },
        "xaxis": {"title": {"text": noise_heading(result)}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "worst detection (minutes)"}, "rangemode": "tozero"},
        "height": 520,
    }
    return {"data": data, "layout": layout}


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _script_json(value: Any) -> str:
    return json.dumps(value, allow_nan=False).replace("<", "\\u003c")


def render_html(results: Sequence[TuneResult], changes: Sequence[FileChange], *, plotly_js: str) -> str:
    """One page: per alert its Pareto plot, front table and held-out table; then the change."""
    names = ", ".join(r.target.alert for r in results)
    diff = "".join(c.diff() for c in changes) or "(no change: the current rules are the recommendation)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>obsbox tune: {html.escape(names)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>",
        "<script>" + plotly_js.replace("</script", "<\\/script") + "</script>",
        "</head><body>",
        f"<h1>obsbox tune: {html.escape(names)}</h1>",
        f"<p>Recommendation rule: {html.escape(RECOMMENDATION_RULE)}.</p>",
    ]
    calls = []
    for i, result in enumerate(results):
        fig = pareto_figure(result)
        parts += [
            f"<h2>{html.escape(result.target.alert)}</h2>",
            f"<p>Swept: {html.escape(', '.join(result.swept))}; {len(result.variants)} variants; "
            f"recommended v{result.recommended:03d} ({html.escape(result.variants[result.recommended].label(result.params))}).</p>",
            f'<div id="pareto-{i}" class="plot"></div>',
            "<h3>Pareto front</h3>",
            _table(HEAD, [row(result, result.corpus, k) for k in table_indices(result)]),
        ]
        gen = generalization_rows(result)
        if gen:
            parts += ["<h3>Held out</h3>", _table(GENERALIZATION_HEAD, gen)]
        calls.append(
            f'Plotly.newPlot("pareto-{i}", {_script_json(fig["data"])}, {_script_json(fig["layout"])}, '
            '{"displaylogo": false, "responsive": true});'
        )
    parts += ["<h2>Change</h2>", f"<pre>{html.escape(diff)}</pre>", "<script>" + "\n".join(calls) + "</script>", "</body></html>"]
    return "\n".join(parts)


def _score_json(s: VariantScore) -> dict[str, Any]:
    return {
        **attrs(s, "windows", "caught", "recall", "noise_episodes", "noise_per_week"),
        "detection_median_s": s.detection_s.median,
        "detection_max_s": s.detection_s.max,
        "reset_median_s": s.reset_s.median,
    }


def to_json(result: TuneResult) -> dict[str, Any]:
    """One alert's variants and scores (``diff``: this alert's change on its own)."""
    parts = [p for p in (result.corpus, result.tune, result.held_out) if p is not None]
    return {
        "alert": result.target.alert,
        "kind": result.target.kind,
        "params": [{"name": p.name, "current": p.current, "grid": list(p.grid)} for p in result.params],
        "swept": list(result.swept),
        "recommendation_rule": RECOMMENDATION_RULE,
        "recommended": result.recommended,
        "tuned_on_tune_part": result.tuned,
        "pareto_front": list(result.front),
        "split_seed": result.split.seed if result.split else None,
        "parts": {p.name: list(p.recordings) for p in parts},
        "variants": [
            {
                "index": v.index,
                "values": dict(v.values),
                "scores": {p.name: _score_json(p.scores[v.index]) for p in parts},
            }
            for v in result.variants
        ],
        "diff": "".join(c.diff() for c in result.changes),
    }


def to_json_many(results: Sequence[TuneResult], changes: Sequence[FileChange]) -> dict[str, Any]:
    """One alert: its object as ``to_json``; several: ``alerts`` and their combined ``diff``."""
    if len(results) == 1:
        return to_json(results[0])
    return {"alerts": [to_json(r) for r in results], "diff": "".join(c.diff() for c in changes)}
