"""The dashboards' JSON models follow obsbox's conventions and Grafana's dashboard model."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from obsbox_instrumentation import contract

from dashboards import module_names
from dashboards._lib import DATASOURCE_UIDS, to_json
from dashboards._queries import (
    interpolate,
    label_values_query,
    panels,
    queries,
    referenced_variables,
    variables,
)
from obsbox.contract_check import metric_names, undeclared_labels

GRID_COLUMNS = 24


def _label_values_metric(selector: str) -> str:
    (name,) = metric_names(selector)
    return name


def test_every_dashboard_module_builds_one_dashboard(models: dict[str, dict[str, Any]]) -> None:
    """Each public module in dashboards/ builds a dashboard with panels, and there are no others."""
    assert sorted(models) == module_names()
    assert all(panels(model) for model in models.values())


@pytest.mark.parametrize("name", module_names())
def test_uid_is_the_module_file_stem(name: str, models: dict[str, dict[str, Any]]) -> None:
    """A dashboard's uid is its module's file stem, so the build file and the URL share one name."""
    module = importlib.import_module(f"dashboards.{name}")
    assert name == module.UID
    assert models[name]["uid"] == name


def test_every_panel_has_a_unit_and_a_description(models: dict[str, dict[str, Any]]) -> None:
    """Every panel (rows excepted) sets fieldConfig.defaults.unit and a description."""
    missing = [
        f"{uid} / {panel.get('title')}"
        for uid, model in models.items()
        for panel in panels(model)
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit") or not panel.get("description", "").strip()
    ]
    assert not missing, f"panels without unit or description: {missing}"


def test_datasources_are_referenced_by_the_agreed_uids(models: dict[str, dict[str, Any]]) -> None:
    """Panels, targets and variables name datasources only by the uids the deploy provisions."""
    used = set()
    for model in models.values():
        for panel in panels(model):
            used.add(panel["datasource"]["uid"])
            used.update(t["datasource"]["uid"] for t in panel.get("targets", []))
        used.update(v["datasource"]["uid"] for v in variables(model).values() if "datasource" in v)
    assert used <= set(DATASOURCE_UIDS), f"unknown datasource uids: {used - set(DATASOURCE_UIDS)}"


def test_panel_ids_are_unique_and_in_layout_order(models: dict[str, dict[str, Any]]) -> None:
    """Panel ids count 1, 2, 3... in layout order, so a rebuild never renumbers panels."""
    for uid, model in models.items():
        ids = [panel["id"] for panel in model["panels"]]
        assert ids == list(range(1, len(ids) + 1)), uid


def test_panels_fit_the_grid(models: dict[str, dict[str, Any]]) -> None:
    """No panel reaches past Grafana's 24 grid columns."""
    for uid, model in models.items():
        for panel in model["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= GRID_COLUMNS, f"{uid} / {panel['title']}"


def test_every_variable_a_query_uses_is_defined(models: dict[str, dict[str, Any]]) -> None:
    """Every $variable in a target or panel title is a dashboard variable or a Grafana built-in."""
    for model in models.values():
        for panel in panels(model):
            interpolate(panel["title"], model)
        for query in queries(model):
            interpolate(query.expr, model)


def test_every_dashboard_variable_is_used(models: dict[str, dict[str, Any]]) -> None:
    """Each variable appears in some target, title or other variable's query; unused ones only confuse."""
    for uid, model in models.items():
        texts = [q.expr for q in queries(model)] + [p["title"] for p in panels(model)]
        texts += [str(v.get("query", "")) for v in variables(model).values()]
        used = set().union(*(referenced_variables(text) for text in texts))
        assert set(variables(model)) <= used, f"{uid}: unused variables {set(variables(model)) - used}"


def test_label_variables_list_labels_the_metric_carries(models: dict[str, dict[str, Any]]) -> None:
    """A label_values() variable asks for a label its metric has (contract labels or job/instance)."""
    checked = 0
    for uid, model in models.items():
        for name, variable in variables(model).items():
            parsed = label_values_query(variable)
            if parsed is None:
                continue
            selector, label = parsed
            metric = _label_values_metric(interpolate(selector, model))
            if ":" in metric:
                # A recording rule (level:metric:operations) keeps only its level's label; that the
                # rule exists is checked against alert_rules/ by tests/validators/dashboards.
                allowed = {metric.split(":")[0]}
            else:
                spec = contract.metric_by_prometheus_name(metric)
                allowed = set(contract.TARGET_LABELS) | (set(spec.labels) if spec else set())
                assert contract.is_declared_series(metric), f"{uid} ${name}: {metric} is not declared"
            assert label in allowed, f"{uid} ${name}: {metric} has no label {label!r}"
            checked += 1
    assert checked > 0


def test_selectors_on_contract_metrics_use_their_labels(models: dict[str, dict[str, Any]]) -> None:
    """Label matchers on contract metrics name labels the contract gives that metric."""
    wrong = {
        str(query): undeclared_labels(interpolate(query.expr, model))
        for model in models.values()
        for query in queries(model)
        if query.datasource == "prometheus"
    }
    assert not {k: v for k, v in wrong.items() if v}


def test_dashboard_json_round_trips(models: dict[str, dict[str, Any]]) -> None:
    """The rendered JSON text loads back to the same model."""
    for model in models.values():
        assert json.loads(to_json(model)) == model


def test_histogram_duration_panels_show_exemplars(models: dict[str, dict[str, Any]]) -> None:
    """Duration percentile targets (histogram_quantile) ask for exemplars, which link to traces in Tempo."""
    for model in models.values():
        for query in queries(model):
            if "histogram_quantile(" in query.expr:
                target = next(
                    t
                    for p in panels(model)
                    for t in p.get("targets", [])
                    if p["title"] == query.panel and t["refId"] == query.ref_id
                )
                assert target.get("exemplar") is True, str(query)


def test_datasource_uids_match_the_deployed_datasources() -> None:
    """The uids dashboards use are the uids the deploy provisions its datasources under."""
    from obsbox.render import grafana

    deployed = (grafana.UID_PROMETHEUS, grafana.UID_LOKI, grafana.UID_TEMPO, grafana.UID_ALERTMANAGER)
    assert deployed == DATASOURCE_UIDS


def test_dashboard_json_decodes_into_grafanas_typed_model(models: dict[str, dict[str, Any]]) -> None:
    """Each JSON model decodes into the SDK's typed Dashboard and encodes back unchanged (no stray keys)."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    for uid, model in models.items():
        decoded = Dashboard.from_json(model)
        assert json.loads(json.dumps(decoded, cls=JSONEncoder, sort_keys=True)) == model, uid


def test_every_unit_is_a_grafana_unit_id(models: dict[str, dict[str, Any]]) -> None:
    """Each panel unit is one of Grafana's unit ids (as listed by the SDK), so none renders as raw text."""
    from grafana_foundation_sdk.models import units

    known = {value for name, value in vars(units).items() if not name.startswith("_") and isinstance(value, str)}
    used = {
        panel["fieldConfig"]["defaults"]["unit"]: f"{uid} / {panel['title']}"
        for uid, model in models.items()
        for panel in panels(model)
    }
    assert not {unit: where for unit, where in used.items() if unit not in known}
