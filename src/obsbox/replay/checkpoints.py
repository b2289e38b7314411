"""Point checks of a replay: at one time, the firing alerts of one name are exactly these.

A manifest's ``expect.alerts_at`` entries (what promtool's ``alert_rule_test`` says, carried into
recordings by ``obsbox import promtool``): at ``at`` the alerts named ``alert`` that are firing
must be exactly the listed ones, labels compared whole, annotations (rendered as Prometheus
renders them) compared when the entry gives them. An empty list is expected silence. Pure
functions over an Evaluation; the check uses the evaluation at or before ``at``, as promtool does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from obsbox.replay.model import AlertState, Evaluation
from obsbox.replay.templates import TemplateData, TemplateError, TemplateUnsupported, render

AlertKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class ExpectedAlert:
    labels: Mapping[str, str]  # without alertname
    annotations: Mapping[str, str] | None = None  # None: not compared


@dataclass(frozen=True)
class AlertCheck:
    at_ms: int
    alert: str
    alerts: Sequence[ExpectedAlert] = field(default_factory=tuple)
    line: int = 0


def firing_alerts(
    evaluation: Evaluation,
    alertname: str,
    index: int,
    render_annotation: Callable[[str, Mapping[str, str], float], str],
) -> list[AlertKey]:
    """(labels, annotations) of every firing alert of ``alertname`` at evaluation ``index``."""
    got: list[AlertKey] = []
    for rule in evaluation.rules:
        if rule.name != alertname:
            continue
        for timeline in rule.alerts:
            if index >= len(timeline.states) or timeline.states[index] is not AlertState.FIRING:
                continue
            # Annotations are expanded when the alert was last in the expression's result
            # (keep_firing_for keeps the last ones).
            value = next((v for v in reversed(timeline.values[: index + 1]) if v is not None), math.nan)
            annotations = {k: render_annotation(t, timeline.expr_labels, value) for k, t in rule.annotations.items()}
            got.append((tuple(sorted(timeline.labels.items())), tuple(sorted(annotations.items()))))
    return sorted(got)


def _index_at(evaluation: Evaluation, alertname: str, at_ms: int) -> int | None:
    for rule in evaluation.rules:
        if rule.name == alertname:
            stamps = evaluation.timestamps_for(rule)
            before = [i for i, t in enumerate(stamps) if t <= at_ms]
            return before[-1] if before else None
    return None


def _show(alerts: Sequence[AlertKey], with_annotations: bool) -> str:
    def one(labels: tuple[tuple[str, str], ...], annotations: tuple[tuple[str, str], ...]) -> str:
        text = "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"
        if with_annotations:
            text += " annotations {" + ", ".join(f'{k}="{v}"' for k, v in annotations) + "}"
        return text

    return "[" + "; ".join(one(lb, an) for lb, an in alerts) + "]" if alerts else "none"


def check_alerts(check: AlertCheck, evaluation: Evaluation) -> str | None:
    """None when the check holds, else one sentence saying what was expected and what fired."""
    index = _index_at(evaluation, check.alert, check.at_ms)
    compare_annotations = any(a.annotations is not None for a in check.alerts)

    def render_annotation(template: str, labels: Mapping[str, str], value: float) -> str:
        return render(template, TemplateData(dict(labels), value)) if "{{" in template else template

    if index is None:
        got: list[AlertKey] = []
    else:
        try:
            got = firing_alerts(evaluation, check.alert, index, render_annotation)
        except (TemplateUnsupported, TemplateError) as exc:
            return f"alert {check.alert} at {check.at_ms / 1000:g}s: cannot render its annotations: {exc}"
    if not compare_annotations:
        got = [(labels, ()) for labels, _ in got]
    expected = sorted(
        (
            tuple(sorted({**a.labels, "alertname": check.alert}.items())),
            tuple(sorted((a.annotations or {}).items())) if compare_annotations else (),
        )
        for a in check.alerts
    )
    if got == expected:
        return None
    return (
        f"alert {check.alert} at {check.at_ms / 1000:g}s: expected {_show(expected, compare_annotations)}, "
        f"firing {_show(got, compare_annotations)}"
    )
