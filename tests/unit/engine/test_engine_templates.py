"""The Go alert-template subset obsbox renders (Prometheus' template functions)."""

from __future__ import annotations

import pytest

from obsbox.replay.templates import TemplateData, TemplateUnsupported, format_go_float, render

DATA = TemplateData({"instance": "h:1", "job": "api"}, 0.123456, {"cluster": "eu"}, "http://prom")


def test_labels_and_value() -> None:
    """$labels.NAME and $value render as Prometheus prints them."""
    assert render("{{ $labels.instance }} of {{ $labels.job }} is {{ $value }}", DATA) == "h:1 of api is 0.123456"


def test_missing_label_renders_empty() -> None:
    """A label the alert lacks renders as '' (Prometheus uses missingkey=zero)."""
    assert render("[{{ $labels.nope }}]", DATA) == "[]"


def test_humanize_functions() -> None:
    """humanize, humanizePercentage and humanizeDuration match Prometheus' output."""
    text = "{{ 1234567.0 | humanize }} {{ $value | humanizePercentage }} {{ humanizeDuration 3700 }} {{ humanizeDuration 0.25 }}"
    assert render(text, DATA) == "1.235M 12.35% 1h 1m 40s 250ms"


def test_printf_formats_value() -> None:
    """printf with a float verb formats like Go's fmt."""
    assert render('{{ printf "%.2f" $value }}', DATA) == "0.12"


def test_dot_fields_and_external_labels() -> None:
    """.Labels/.Value and $externalLabels/$externalURL resolve like the $ variables."""
    assert render("{{ .Labels.job }} {{ $externalLabels.cluster }} {{ $externalURL }}", DATA) == "api eu http://prom"


def test_trim_markers_remove_whitespace() -> None:
    """'{{-' and '-}}' trim the surrounding whitespace."""
    assert render("a  {{- $labels.job -}}  b", DATA) == "aapib"


def test_control_structures_are_reported_unsupported() -> None:
    """if/range and friends raise TemplateUnsupported rather than rendering something wrong."""
    with pytest.raises(TemplateUnsupported):
        render("{{ if gt $value 1.0 }}big{{ end }}", DATA)


def test_query_function_is_reported_unsupported() -> None:
    """The query function is outside the subset and is reported."""
    with pytest.raises(TemplateUnsupported, match="query"):
        render('{{ query "up" }}', DATA)


def test_go_float_formatting_switches_to_exponent_at_1e21() -> None:
    """Go's %v prints floats in full below 1e21 and with an exponent from there (and below 1e-4)."""
    assert [format_go_float(v) for v in (1e20, 1e21, 0.0001, 0.00001, 3.0)] == [
        "100000000000000000000",
        "1e+21",
        "0.0001",
        "1e-05",
        "3",
    ]
