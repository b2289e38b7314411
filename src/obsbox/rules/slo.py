"""SLO burn-rate rules rendered from alert_rules/slos.yaml.

The alerts follow the SRE workbook's multiwindow, multi-burn-rate recipe (Alerting on SLOs,
recipe 6): page when 2% of the period's error budget burns within 1 hour (confirmed over 5
minutes) or 5% within 6 hours (confirmed over 30 minutes); open a ticket when 10% burns within 3
days (confirmed over 6 hours). For a 30-day period those are the workbook's burn rates 14.4, 6 and
1; other periods get the rates that consume the same budget shares. The short window makes the
alert reset soon after the burn stops; the long window keeps brief blips from paging.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from obsbox_instrumentation.contract import (
    HTTP_DURATION_BUCKETS,
    HTTP_SERVER_REQUEST_DURATION,
    LABEL_HTTP_STATUS,
)

from obsbox.formats import parse_duration_ms, yaml_error

RUNBOOK_BASE = "https://github.com/obsbox/obsbox/blob/main/alert_rules/runbooks"
EVALUATION_INTERVAL = "1m"

_COUNT = f"{HTTP_SERVER_REQUEST_DURATION.prometheus_name}_count"
_BUCKET = f"{HTTP_SERVER_REQUEST_DURATION.prometheus_name}_bucket"


class SloError(ValueError):
    """A bad SLO definition; the message names the file and the field."""


@dataclass(frozen=True)
class BurnTier:
    """One multiwindow condition: a budget share consumed within `long`, confirmed over `short`."""

    budget_share: float
    long: str
    short: str


# The workbook's tiers; severity and the inhibition label follow from the tier's role.
PAGE_TIERS = (BurnTier(0.02, "1h", "5m"), BurnTier(0.05, "6h", "30m"))
TICKET_TIERS = (BurnTier(0.10, "3d", "6h"),)
WINDOWS = ("5m", "30m", "1h", "6h", "3d")


@dataclass(frozen=True)
class ServiceSlo:
    """The objectives of one service (Prometheus `job`)."""

    job: str
    availability_target: float
    latency_threshold_seconds: float
    latency_target: float
    min_requests_per_hour: int = 100


@dataclass(frozen=True)
class SloSettings:
    period: str
    services: tuple[ServiceSlo, ...]


def hours(duration: str) -> float:
    """Hours in a Prometheus duration such as 30d, 6h or 5m; SloError for anything else, or 0."""
    try:
        ms = parse_duration_ms(duration)
    except ValueError:
        ms = 0
    if ms <= 0:
        raise SloError(f"duration {duration!r}: expected a Prometheus duration such as 30d, 6h or 5m")
    return ms / 3_600_000


def burn_rate(tier: BurnTier, period: str) -> float:
    """The burn rate at which `tier.budget_share` of the period's budget goes in `tier.long`."""
    return round(tier.budget_share * hours(period) / hours(tier.long), 6)


def _field(entry: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in entry:
        raise SloError(f"{where}: missing field {name!r}")
    value = entry[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SloError(f"{where}: field {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def parse_slos(data: Any, source: str = "slos.yaml") -> SloSettings:
    """Validated SLO settings from the YAML data; errors name the file, service and field."""
    if not isinstance(data, dict):
        raise SloError(f"{source}: expected a mapping with 'period' and 'services'")
    period = _field(data, "period", str, source)
    try:
        period_hours = hours(period)
    except SloError as exc:
        raise SloError(f"{source}: field 'period': {exc}") from None
    if period_hours <= hours("3d"):
        raise SloError(f"{source}: field 'period' {period!r} must be longer than the 3d ticket window")
    raw_services = data.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        raise SloError(f"{source}: field 'services' must be a non-empty list")
    services = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_services):
        where = f"{source}: services[{index}]"
        if not isinstance(entry, dict):
            raise SloError(f"{where}: expected a mapping")
        unknown = set(entry) - {f for f in ServiceSlo.__dataclass_fields__}
        if unknown:
            raise SloError(f"{where}: unknown field(s) {sorted(unknown)}")
        job = _field(entry, "job", str, where)
        where = f"{source}: services[{index}] (job {job})"
        if job in seen:
            raise SloError(f"{where}: job given twice")
        seen.add(job)
        slo = ServiceSlo(
            job=job,
            availability_target=_field(entry, "availability_target", float, where),
            latency_threshold_seconds=_field(entry, "latency_threshold_seconds", float, where),
            latency_target=_field(entry, "latency_target", float, where),
            min_requests_per_hour=_field(entry, "min_requests_per_hour", int, where)
            if "min_requests_per_hour" in entry
            else 100,
        )
        for name in ("availability_target", "latency_target"):
            if not 0.0 < getattr(slo, name) < 1.0:
                raise SloError(f"{where}: field {name!r} must be between 0 and 1 (exclusive)")
        if slo.latency_threshold_seconds not in HTTP_DURATION_BUCKETS:
            raise SloError(
                f"{where}: field 'latency_threshold_seconds' {slo.latency_threshold_seconds} is not a bucket "
                f"boundary of {HTTP_SERVER_REQUEST_DURATION.prometheus_name}; pick one of {list(HTTP_DURATION_BUCKETS)}"
            )
        if slo.min_requests_per_hour < 0:
            raise SloError(f"{where}: field 'min_requests_per_hour' must be >= 0")
        services.append(slo)
    return SloSettings(period=period, services=tuple(services))


def load_slos(path: Path | str) -> SloSettings:
    """SLO settings from a slos.yaml file."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise SloError(yaml_error(path, exc, text)) from None
    except yaml.YAMLError as exc:
        raise SloError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return parse_slos(data, str(path))


def _num(value: float) -> str:
    return format(round(value, 9), "g")


def le_matcher(threshold: float) -> str:
    """A matcher for the `le` label of this bucket in either exposition spelling.

    The Python client writes 1.0 where Go clients (the collector's Prometheus exporter) write 1;
    Prometheus 2.x keeps the text as is.
    """
    python_spelling = repr(float(threshold))
    go_spelling = _num(threshold)
    if python_spelling == go_spelling:
        return f'le="{python_spelling}"'
    return f'le=~"{re.escape(go_spelling)}|{re.escape(python_spelling)}"'.replace("\\", "\\\\")


def _recording_rules(slo: ServiceSlo) -> list[dict[str, Any]]:
    sel = f'job="{slo.job}"'
    # The static job label repeats what the expression yields; it makes the per-service rules
    # distinct to `promtool check rules`, which flags same-name rules with equal static labels.
    labels = {"job": slo.job}
    rules: list[dict[str, Any]] = []
    for w in WINDOWS:
        total = f"sum by (job) (rate({_COUNT}{{{sel}}}[{w}]))"
        rules.append({"record": f"job:http_server_requests:rate{w}", "expr": total, "labels": labels})
        errors = f'sum by (job) (rate({_COUNT}{{{sel},{LABEL_HTTP_STATUS}=~"5.."}}[{w}]))'
        # A window with requests but no 5xx series yet has a ratio of 0, not no ratio.
        rules.append(
            {
                "record": f"job:http_server_request_errors:ratio_rate{w}",
                "expr": f"({errors} or {total} * 0) / {total}",
                "labels": labels,
            }
        )
        fast = f"sum by (job) (rate({_BUCKET}{{{sel},{le_matcher(slo.latency_threshold_seconds)}}}[{w}]))"
        rules.append(
            {
                "record": f"job:http_server_request_slow:ratio_rate{w}",
                "expr": f"1 - ({fast} / {total})",
                "labels": labels,
            }
        )
    return rules


@dataclass(frozen=True)
class _SloKind:
    name: str  # the `slo` label
    title: str
    metric: str  # the ratio's recorded metric, without the window
    what: str


_AVAILABILITY = _SloKind(
    "availability", "Availability", "job:http_server_request_errors:ratio_rate", "5xx responses"
)
_LATENCY = _SloKind(
    "latency", "Latency", "job:http_server_request_slow:ratio_rate", "requests slower than {threshold}s"
)


def _tier_condition(kind: _SloKind, slo: ServiceSlo, tier: BurnTier, period: str, budget: float) -> str:
    factor = _num(burn_rate(tier, period))
    sel = f'{{job="{slo.job}"}}'
    return (
        f"(\n    {kind.metric}{tier.long}{sel} > ({factor} * {_num(budget)})\n  and\n"
        f"    {kind.metric}{tier.short}{sel} > ({factor} * {_num(budget)})\n)"
    )


def _alert(
    kind: _SloKind, slo: ServiceSlo, settings: SloSettings, tiers: Sequence[BurnTier], page: bool
) -> dict[str, Any]:
    target = slo.availability_target if kind is _AVAILABILITY else slo.latency_target
    budget = 1.0 - target
    condition = "\nor\n".join(_tier_condition(kind, slo, t, settings.period, budget) for t in tiers)
    # The low-traffic guard: a handful of requests proves nothing either way.
    guard = f'job:http_server_requests:rate1h{{job="{slo.job}"}} * 3600 >= {slo.min_requests_per_hour}'
    expr = f"(\n{condition}\n)\nand on (job)\n  {guard}\n"
    what = kind.what.format(threshold=_num(slo.latency_threshold_seconds))
    windows = " or ".join(
        f"{_num(burn_rate(t, settings.period))}x over {t.long} (confirmed over {t.short})" for t in tiers
    )
    speed = "Fast" if page else "Slow"
    return {
        "alert": f"Slo{kind.title}BurnRate{speed}",
        "expr": expr,
        "for": "2m" if page else "15m",
        "labels": {
            "job": slo.job,
            "severity": "critical" if page else "warning",
            "slo": kind.name,
            "burn": "fast" if page else "slow",
        },
        "annotations": {
            "summary": f"{{{{ $labels.job }}}} is burning its {kind.name} error budget {'fast' if page else 'slowly'}",
            "description": (
                f"The share of {what} of {{{{ $labels.job }}}} is above {windows} times its budget of "
                f"{_num(budget * 100)}% ({kind.name} objective {_num(target * 100)}% over {settings.period}); "
                f"currently {{{{ $value | humanizePercentage }}}} over the long window."
            ),
            "runbook_url": f"{RUNBOOK_BASE}/slo-{kind.name}.md",
        },
    }


def slo_rule_groups(settings: SloSettings) -> list[dict[str, Any]]:
    """The rule groups as Python data: per service, its ratios and then the alerts that read them."""
    groups = []
    for slo in settings.services:
        rules = _recording_rules(slo)
        for kind in (_AVAILABILITY, _LATENCY):
            rules.append(_alert(kind, slo, settings, PAGE_TIERS, page=True))
            rules.append(_alert(kind, slo, settings, TICKET_TIERS, page=False))
        groups.append({"name": f"slo-{slo.job}", "interval": EVALUATION_INTERVAL, "rules": rules})
    return groups


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line expressions as literal blocks, so the checked-in file reads like hand-written rules.
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_presenter)

HEADER = "# Generated by `obsbox rules render` from alert_rules/slos.yaml; do not edit by hand.\n"


def render_slo_rules(settings: SloSettings) -> str:
    """alert_rules/slo.rules.yaml text for these SLOs."""
    body = yaml.dump(
        {"groups": slo_rule_groups(settings)},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=120,
    )
    return HEADER + body
