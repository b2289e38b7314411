"""SLO burn-rate rules rendered from alert_rules/slos.yaml.

The alerts follow the SRE workbook's multiwindow, multi-burn-rate recipe (Alerting on SLOs,
recipe 6): page when 2% of the period's error budget burns within 1 hour (confirmed over 5
minutes) or 5% within 6 hours (confirmed over 30 minutes); open a ticket when 10% burns within 3
days (confirmed over 6 hours). For a 30-day period those are the workbook's burn rates 14.4, 6 and
1; other periods get the rates that consume the same budget shares. The short window makes the
alert reset soon after the burn stops; the long window keeps brief blips from paging. A second
ticket tier (10% within 1 day, confirmed over 2 hours: burn rate 3) opens a ticket for a
sustained degradation too slow for the page tiers long before the 3-day tier would.

Burn rates cannot see a service that answers nothing (no requests, no ratio), a process that
crashes and restarts over and over (each start counts from zero, the failed requests never reach
its metrics), or one route failing while the others dilute it; each service also gets
`SloServiceDown`, `SloServiceCrashLooping` and `SloRouteErrorBurst`. The SLIs leave out the
health and probe routes (contract.SLI_EXCLUDED_ROUTES): they are not traffic. docs/rules.md says
what pages, what tickets, and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from obsbox_instrumentation.contract import (
    HTTP_DURATION_BUCKETS,
    HTTP_SERVER_REQUEST_DURATION,
    LABEL_HTTP_ROUTE,
    LABEL_HTTP_STATUS,
    SLI_EXCLUDED_ROUTES,
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
TICKET_TIERS = (BurnTier(0.10, "1d", "2h"), BurnTier(0.10, "3d", "6h"))
# Latency degrades in plateaus (a slow query, a saturated dependency) more than in spikes: a
# plateau of 5-14x the budget passes neither page tier for hours (the 1h tier needs 14.4x, the 6h
# tier 6x averaged over six hours). 1.5% of the budget within 2 hours (5.4x), confirmed over
# 10 minutes, pages a 10x plateau in about an hour. Availability keeps the workbook's tiers: a
# 2-minute error storm averaged over 2 hours comes too close to 5.4x.
LATENCY_PAGE_TIERS = (*PAGE_TIERS, BurnTier(0.015, "2h", "10m"))
WINDOWS = ("5m", "10m", "30m", "1h", "2h", "6h", "1d", "3d")

# SloServiceDown: no instance answered a scrape for UP_WINDOW, or (targets gone from discovery)
# no request series was scraped for ABSENT_WINDOW although the service had traffic in the hour.
UP_WINDOW = "2m"
ABSENT_WINDOW = "4m"
DOWN_FOR = "1m"
# SloServiceCrashLooping: this many restarts (counter resets of one series, or half as many up
# flaps) within CRASH_WINDOW. A deploy restarts each instance once.
CRASH_WINDOW = "15m"
CRASH_RESTARTS = 3
# SloRouteErrorBurst: the route's 5xx share over 5m and, so a blip of a minute or two does not
# page, over 30m at half of it; and at least route_min_requests requests to it in 30m.
ROUTE_SHORT, ROUTE_LONG = "5m", "30m"


@dataclass(frozen=True)
class ServiceSlo:
    """The objectives of one service (Prometheus `job`)."""

    job: str
    availability_target: float
    latency_threshold_seconds: float
    latency_target: float
    min_requests_per_hour: int = 100
    # Routes left out of every SLI (health checks and probes are not traffic).
    sli_exclude_routes: tuple[str, ...] = SLI_EXCLUDED_ROUTES
    # A service that may be scaled to zero on purpose: vanished metrics are not an outage
    # (all of its targets reporting down still is).
    scale_to_zero: bool = False
    route_error_ratio: float = 0.10
    route_min_requests: int = 100


@dataclass(frozen=True)
class BurnPolicy:
    """The tiers of one alert (page or ticket) and its ``for``; slos.yaml's ``burn_rates`` (the
    workbook's by default), which ``obsbox tune`` sweeps."""

    tiers: tuple[BurnTier, ...]
    for_: str


DEFAULT_PAGE = BurnPolicy(PAGE_TIERS, "2m")
DEFAULT_LATENCY_PAGE = BurnPolicy(LATENCY_PAGE_TIERS, "2m")
DEFAULT_TICKET = BurnPolicy(TICKET_TIERS, "15m")


def default_policy(kind: str, page: bool) -> BurnPolicy:
    """The workbook's tiers (latency pages also on a slow 2h burn) when slos.yaml sets none."""
    if not page:
        return DEFAULT_TICKET
    return DEFAULT_LATENCY_PAGE if kind == "latency" else DEFAULT_PAGE
SLO_KINDS = ("availability", "latency")
SPEEDS = ("page", "ticket")
# (kind, speed) -> policy, for the entries slos.yaml sets; the others are the defaults.
BurnRates = tuple[tuple[tuple[str, str], BurnPolicy], ...]


@dataclass(frozen=True)
class SloSettings:
    period: str
    services: tuple[ServiceSlo, ...]
    burn_rates: BurnRates = ()

    def policy(self, kind: str, page: bool) -> BurnPolicy:
        """The tiers and ``for`` of one alert: slos.yaml's ``burn_rates.<kind>.<page|ticket>``."""
        speed = "page" if page else "ticket"
        found = dict(self.burn_rates).get((kind, speed))
        return found if found is not None else default_policy(kind, page)

    def with_policy(self, kind: str, page: bool, policy: BurnPolicy) -> SloSettings:
        key = (kind, "page" if page else "ticket")
        default = default_policy(kind, page)
        entries = {**dict(self.burn_rates), key: policy}
        if policy == default:
            del entries[key]
        ordered = tuple((k, entries[k]) for k in sorted(entries, key=lambda k: (SLO_KINDS.index(k[0]), SPEEDS.index(k[1]))))
        return replace(self, burn_rates=ordered)


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
    if kind is bool:
        if not isinstance(value, bool):
            raise SloError(f"{where}: field {name!r} must be true or false, got {value!r}")
        return value
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SloError(f"{where}: field {name!r} must be a {kind.__name__}, got {value!r}")
    return value


def _routes(entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = entry["sli_exclude_routes"]
    if not isinstance(value, list) or not all(isinstance(r, str) and r.startswith("/") for r in value):
        raise SloError(f"{where}: field 'sli_exclude_routes' must be a list of routes starting with '/', got {value!r}")
    return tuple(value)


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
            sli_exclude_routes=_routes(entry, where) if "sli_exclude_routes" in entry else SLI_EXCLUDED_ROUTES,
            scale_to_zero=_field(entry, "scale_to_zero", bool, where) if "scale_to_zero" in entry else False,
            route_error_ratio=_field(entry, "route_error_ratio", float, where)
            if "route_error_ratio" in entry
            else 0.10,
            route_min_requests=_field(entry, "route_min_requests", int, where)
            if "route_min_requests" in entry
            else 100,
        )
        if not 0.0 < slo.route_error_ratio < 1.0:
            raise SloError(f"{where}: field 'route_error_ratio' must be between 0 and 1 (exclusive)")
        if slo.route_min_requests < 1:
            raise SloError(f"{where}: field 'route_min_requests' must be >= 1")
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
    settings = SloSettings(period=period, services=tuple(services))
    if data.get("burn_rates") is not None:
        settings = _parse_burn_rates(settings, data["burn_rates"], f"{source}: burn_rates", period)
    unknown_top = set(data) - {"period", "services", "burn_rates"}
    if unknown_top:
        raise SloError(f"{source}: unknown field(s) {sorted(unknown_top)}")
    return settings


def _parse_burn_rates(settings: SloSettings, raw: Any, where: str, period: str) -> SloSettings:
    if not isinstance(raw, dict) or set(raw) - set(SLO_KINDS):
        raise SloError(f"{where}: expected a mapping of {' and/or '.join(SLO_KINDS)} to page/ticket tiers")
    for kind, speeds in raw.items():
        if not isinstance(speeds, dict) or set(speeds) - set(SPEEDS):
            raise SloError(f"{where}.{kind}: expected a mapping with 'page' and/or 'ticket'")
        for name, entry in speeds.items():
            settings = settings.with_policy(kind, name == "page", _parse_policy(entry, f"{where}.{kind}.{name}", period))
    return settings


def _parse_policy(entry: Any, at: str, period: str) -> BurnPolicy:
    default = DEFAULT_PAGE if at.endswith(".page") else DEFAULT_TICKET
    if not isinstance(entry, dict) or set(entry) - {"for", "tiers"}:
        raise SloError(f"{at}: expected a mapping with 'tiers' and optional 'for'")
    for_ = entry.get("for", default.for_)
    if not isinstance(for_, str) or not re.match(r"^(\d+[smh])+$", for_):
        raise SloError(f"{at}: field 'for' must be a duration such as 2m, got {for_!r}")
    tiers_raw = entry.get("tiers")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise SloError(f"{at}: field 'tiers' must be a non-empty list")
    tiers = []
    for i, t in enumerate(tiers_raw):
        tat = f"{at}.tiers[{i}]"
        if not isinstance(t, dict) or set(t) != {"budget_share", "long", "short"}:
            raise SloError(f"{tat}: expected budget_share, long and short")
        share = t["budget_share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise SloError(f"{tat}: field 'budget_share' must be a number between 0 and 1")
        for key in ("long", "short"):
            if t[key] not in WINDOWS:
                raise SloError(f"{tat}: field {key!r} must be one of the recorded windows {list(WINDOWS)}")
        if hours(t["short"]) >= hours(t["long"]):
            raise SloError(f"{tat}: the short window must be shorter than the long one")
        if hours(t["long"]) >= hours(period):
            raise SloError(f"{tat}: the long window must be shorter than the period {period}")
        tiers.append(BurnTier(float(share), t["long"], t["short"]))
    return BurnPolicy(tuple(tiers), for_)


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


def route_exclusion(routes: Sequence[str]) -> str:
    """The matcher that drops these routes, or "" for none (escaped for a PromQL string)."""
    if not routes:
        return ""
    alternatives = "|".join(re.escape(r) for r in routes).replace("\\", "\\\\")
    return f',{LABEL_HTTP_ROUTE}!~"{alternatives}"'


def sli_selector(slo: ServiceSlo) -> str:
    """The label matchers of the service's SLI series: its job, without health and probe routes."""
    return f'job="{slo.job}"{route_exclusion(slo.sli_exclude_routes)}'


def _rate(by: str, metric: str, matchers: str, window: str) -> str:
    """The per-second rate of `metric` over `window`, aggregated `by` (e.g. "sum by (job)")."""
    return f"{by} (rate({metric}{{{matchers}}}[{window}]))"


def _error_ratio(by: str, sel: str, window: str) -> str:
    """The 5xx share of the requests matching `sel` over `window`, aggregated `by`."""
    total = _rate(by, _COUNT, sel, window)
    errors = _rate(by, _COUNT, f'{sel},{LABEL_HTTP_STATUS}=~"5.."', window)
    # A window with requests but no 5xx series yet has a ratio of 0, not no ratio.
    return f"({errors} or {total} * 0) / {total}"


def _record(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": labels}


def _recording_rules(slo: ServiceSlo) -> list[dict[str, Any]]:
    sel = sli_selector(slo)
    # The static job label repeats what the expression yields; it makes the per-service rules
    # distinct to `promtool check rules`, which flags same-name rules with equal static labels.
    labels = {"job": slo.job}
    by = "sum by (job)"
    fast_sel = f"{sel},{le_matcher(slo.latency_threshold_seconds)}"
    rules: list[dict[str, Any]] = []
    for w in WINDOWS:
        total, fast = _rate(by, _COUNT, sel, w), _rate(by, _BUCKET, fast_sel, w)
        rules += [
            _record(f"job:http_server_requests:rate{w}", total, labels),
            _record(f"job:http_server_request_errors:ratio_rate{w}", _error_ratio(by, sel, w), labels),
            _record(f"job:http_server_request_slow:ratio_rate{w}", f"1 - ({fast} / {total})", labels),
        ]
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
        "for": settings.policy(kind.name, page).for_,
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


def _route_rules(slo: ServiceSlo) -> list[dict[str, Any]]:
    sel = sli_selector(slo)
    labels = {"job": slo.job}
    by = f"sum by (job, {LABEL_HTTP_ROUTE})"
    rules = [_record(f"job_route:http_server_requests:rate{ROUTE_LONG}", _rate(by, _COUNT, sel, ROUTE_LONG), labels)]
    for w in (ROUTE_SHORT, ROUTE_LONG):
        rules.append(_record(f"job_route:http_server_request_errors:ratio_rate{w}", _error_ratio(by, sel, w), labels))
    return rules


def _annotations(summary: str, description: str, runbook: str) -> dict[str, str]:
    return {"summary": summary, "description": description, "runbook_url": f"{RUNBOOK_BASE}/{runbook}"}


def _service_down_alert(slo: ServiceSlo) -> dict[str, Any]:
    job = f'job="{slo.job}"'
    # Every target of the job failed every scrape for UP_WINDOW: nothing answers.
    expr = f"max by (job) (max_over_time(up{{{job}}}[{UP_WINDOW}])) == 0\n"
    if not slo.scale_to_zero:
        # The targets are gone altogether (no `up` either): the request series stopped although
        # the service had traffic in the last hour. Only for a service Prometheus scraped itself
        # within the hour: through the collector there is no `up` of the service, and a quiet
        # service's series simply expire there. Not while a target still answers scrapes (a
        # restarted process has no series until its first request).
        expr += (
            f"or\n(\n  absent_over_time({_COUNT}{{{job}}}[{ABSENT_WINDOW}])\n"
            f"  and on (job)\n    job:http_server_requests:rate1h{{{job}}} * 3600 >= {slo.min_requests_per_hour}\n"
            f"  and on (job)\n    count by (job) (count_over_time(up{{{job}}}[1h]))\n"
            f"  unless on (job)\n    max by (job) (up{{{job}}}) == 1\n)\n"
        )
    return {
        "alert": "SloServiceDown",
        "expr": expr,
        "for": DOWN_FOR,
        "labels": {"job": slo.job, "severity": "critical", "slo": "availability"},
        "annotations": _annotations(
            "{{ $labels.job }} does not answer at all",
            f"No instance of {{{{ $labels.job }}}} answered a scrape for {UP_WINDOW}"
            + ("" if slo.scale_to_zero else f", or its request metrics vanished for {ABSENT_WINDOW} after an hour with traffic")
            + ": the service is down and its error ratio cannot show it.",
            "slo-availability.md",
        ),
    }


def _crash_loop_alert(slo: ServiceSlo) -> dict[str, Any]:
    job = f'job="{slo.job}"'
    expr = (
        f"max by (job) (resets({_COUNT}{{{job}}}[{CRASH_WINDOW}])) >= {CRASH_RESTARTS}\n"
        f"or\nmax by (job) (changes(up{{{job}}}[{CRASH_WINDOW}])) >= {2 * CRASH_RESTARTS}\n"
    )
    return {
        "alert": "SloServiceCrashLooping",
        "expr": expr,
        "labels": {"job": slo.job, "severity": "critical", "slo": "availability"},
        "annotations": _annotations(
            "{{ $labels.job }} restarts over and over",
            f"An instance of {{{{ $labels.job }}}} started {CRASH_RESTARTS} or more times within {CRASH_WINDOW} "
            "(its counters reset, or its scrapes failed and recovered, that often): the requests it drops "
            "between starts never reach its error ratio.",
            "slo-availability.md",
        ),
    }


def _route_alert(slo: ServiceSlo) -> dict[str, Any]:
    job = f'{{job="{slo.job}"}}'
    ratio = _num(slo.route_error_ratio)
    expr = (
        f"job_route:http_server_request_errors:ratio_rate{ROUTE_SHORT}{job} > {ratio}\n"
        f"and on (job, {LABEL_HTTP_ROUTE})\n"
        f"  job_route:http_server_request_errors:ratio_rate{ROUTE_LONG}{job} > {_num(slo.route_error_ratio / 2)}\n"
        f"and on (job, {LABEL_HTTP_ROUTE})\n"
        f"  job_route:http_server_requests:rate{ROUTE_LONG}{job} * {int(hours(ROUTE_LONG) * 3600)} >= {slo.route_min_requests}\n"
    )
    return {
        "alert": "SloRouteErrorBurst",
        "expr": expr,
        "for": "3m",
        "labels": {"job": slo.job, "severity": "critical", "slo": "availability"},
        "annotations": _annotations(
            "Route {{ $labels.http_route }} of {{ $labels.job }} fails",
            f"{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.http_route }}}} of "
            f"{{{{ $labels.job }}}} failed with 5xx over {ROUTE_SHORT} (above {_num(slo.route_error_ratio * 100)}%, "
            f"and above half of that over {ROUTE_LONG}): one route failing while the others dilute the "
            "service's error ratio.",
            "slo-availability.md",
        ),
    }


def slo_rule_groups(settings: SloSettings) -> list[dict[str, Any]]:
    """The rule groups as Python data: per service, its ratios and then the alerts that read them."""
    groups = []
    for slo in settings.services:
        rules = _recording_rules(slo) + _route_rules(slo)
        for kind in (_AVAILABILITY, _LATENCY):
            rules.append(_alert(kind, slo, settings, settings.policy(kind.name, True).tiers, page=True))
            rules.append(_alert(kind, slo, settings, settings.policy(kind.name, False).tiers, page=False))
        rules += [_service_down_alert(slo), _crash_loop_alert(slo), _route_alert(slo)]
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
