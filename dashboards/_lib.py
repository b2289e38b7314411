"""Small shared pieces of every obsbox dashboard: datasources, panels, targets, variables.

Dashboards are built with grafana-foundation-sdk (Grafana's own typed builders) and rendered to
plain JSON here, so every module builds the same kind of panel the same way: each panel has a
unit and a description (docs/architecture.md, Conventions), Prometheus targets get ref ids A, B, C... in order,
and panel ids are numbered in layout order so a rebuild is byte-for-byte identical.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import logs, loki, prometheus, stat, table, tempo, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

# Datasource uids the deploy provisions; a dashboard refers to datasources only by these.
DS_PROMETHEUS = "prometheus"
DS_LOKI = "loki"
DS_TEMPO = "tempo"
DS_ALERTMANAGER = "alertmanager"
DATASOURCE_UIDS = (DS_PROMETHEUS, DS_LOKI, DS_TEMPO, DS_ALERTMANAGER)

PROMETHEUS = dm.DataSourceRef(type_val="prometheus", uid=DS_PROMETHEUS)
LOKI = dm.DataSourceRef(type_val="loki", uid=DS_LOKI)
TEMPO = dm.DataSourceRef(type_val="tempo", uid=DS_TEMPO)

# Grafana picks a rate window of at least four scrape intervals; hand-picked windows break when
# the scrape interval changes.
RATE = "$__rate_interval"
# Every obsbox dashboard carries this tag so the dashboards link to one another.
TAG = "obsbox"

GREEN, YELLOW, RED = "green", "yellow", "red"

Row = tuple[str, Sequence[Any]]


def prom(expr: str, legend: str = "", *, exemplar: bool = False, instant: bool = False) -> prometheus.Dataquery:
    """A Prometheus target; exemplars on where the series is a histogram that carries trace ids."""
    query = prometheus.Dataquery().expr(expr).legend_format(legend or "__auto").datasource(PROMETHEUS)
    query = query.exemplar(exemplar)
    if instant:
        query = query.instant().format(pm.PromQueryFormat.TABLE)
    else:
        query = query.range()
    return query


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (the base colour)."""
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=value, color=color) for value, color in steps]
    )


def _with_refs(queries: Sequence[prometheus.Dataquery]) -> list[Builder[Dataquery]]:
    return [query.ref_id(string.ascii_uppercase[i]) for i, query in enumerate(queries)]


def graph(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    span: int = 12,
    height: int = 8,
    steps: db.ThresholdsConfig | None = None,
    minimum: float | None = 0,
) -> timeseries.Panel:
    """A time series panel of Prometheus targets."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(PROMETHEUS)
        .targets(_with_refs(queries))
        .span(span)
        .height(height)
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if steps is not None:
        panel = panel.thresholds(steps)
    return panel


def single(
    title: str,
    description: str,
    unit: str,
    query: prometheus.Dataquery,
    *,
    span: int = 6,
    height: int = 4,
    steps: db.ThresholdsConfig | None = None,
) -> stat.Panel:
    """A stat panel showing the latest value of one Prometheus target."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(PROMETHEUS)
        .targets(_with_refs([query]))
        .span(span)
        .height(height)
    )
    if steps is not None:
        panel = panel.thresholds(steps)
    return panel


def tabulate(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    span: int = 12,
    height: int = 8,
) -> table.Panel:
    """A table of instant Prometheus targets (one row per series)."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(PROMETHEUS)
        .targets(_with_refs(queries))
        .span(span)
        .height(height)
    )


def log_lines(title: str, description: str, expr: str, *, span: int = 24, height: int = 10) -> logs.Panel:
    """A Loki logs panel; log lines have no unit, "none" says so explicitly."""
    query = loki.Dataquery().expr(expr).ref_id("A").datasource(LOKI)
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .unit("none")
        .datasource(LOKI)
        .with_target(query)
        .span(span)
        .height(height)
    )


def trace_search(title: str, description: str, traceql: str, *, span: int = 24, height: int = 8) -> table.Panel:
    """A table of Tempo search results for a TraceQL query; trace ids link to the trace view."""
    query = tempo.TempoQuery().query(traceql).query_type("traceql").limit(20).ref_id("A").datasource(TEMPO)
    return (
        table.Panel()
        .title(title)
        .description(description)
        .unit("none")
        .datasource(TEMPO)
        .with_target(query)
        .span(span)
        .height(height)
    )


def label_variable(
    name: str,
    label: str,
    metric: str,
    target_label: str,
    *,
    selector: str = "",
    default: str | None = None,
) -> db.QueryVariable:
    """A variable listing one label's values on one metric.

    Without a default it is multi-valued with "All" selected, and "All" means the regex ``.*``:
    panels use it as ``label=~"$name"``, and the explicit all value keeps "All" matching series
    whose value Grafana has not listed yet. With a default it picks exactly one value.
    """
    variable = (
        db.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(f"label_values({metric}{selector}, {target_label})")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if default is not None:
        return variable.multi(False).include_all(False).current(dm.VariableOption(text=default, value=default))
    return (
        variable.multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(text="All", value="$__all"))
    )


def choice_variable(name: str, label: str, values: Sequence[str], default: str) -> db.CustomVariable:
    """A variable chosen from fixed values (an SLO target, a top-N size)."""
    return (
        db.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .current(dm.VariableOption(text=default, value=default))
        .options([dm.VariableOption(text=v, value=v, selected=v == default) for v in values])
    )


def text_variable(name: str, label: str, default: str) -> db.TextBoxVariable:
    """A free-text variable (a trace id to look up)."""
    return (
        db.TextBoxVariable(name)
        .label(label)
        .default_value(default)
        .current(dm.VariableOption(text=default, value=default))
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    rows: Sequence[Row],
    *,
    variables: Sequence[Any] = (),
) -> dict[str, Any]:
    """The dashboard's JSON model as plain data: rows of panels, ids numbered in layout order."""
    builder = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("utc")
        .links(
            [
                db.DashboardLink("obsbox")
                .type(dm.DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(True)
                .keep_time(True)
                .include_vars(False)
            ]
        )
    )
    for variable in variables:
        builder = builder.with_variable(variable)
    for row_title, panels in rows:
        builder = builder.with_row(db.Row(row_title))
        for panel in panels:
            builder = builder.with_panel(panel)
    model: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder, sort_keys=True))
    for number, panel in enumerate(model["panels"], start=1):
        panel["id"] = number
        # The SDK writes "options": null for panels given no options; Grafana expects an object.
        if panel.get("options") is None and panel["type"] != "row":
            panel["options"] = {}
    return model


def to_json(model: dict[str, Any]) -> str:
    """The JSON text written to dashboards/build: sorted keys, two-space indent, final newline."""
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
