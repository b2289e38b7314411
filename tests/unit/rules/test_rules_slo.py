"""SLO definitions as data and the burn-rate rules rendered from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsbox.rules.slo import (
    PAGE_TIERS,
    TICKET_TIERS,
    SloError,
    burn_rate,
    le_matcher,
    load_slos,
    parse_slos,
    render_slo_rules,
)

REPO = Path(__file__).resolve().parents[3]
SLOS = REPO / "alert_rules" / "slos.yaml"
GOOD = {"job": "api", "availability_target": 0.999, "latency_threshold_seconds": 0.5, "latency_target": 0.99}


def test_rules_slo_file_matches_fresh_render() -> None:
    """The checked-in slo.rules.yaml is what `obsbox rules render` makes of slos.yaml."""
    assert (REPO / "alert_rules" / "slo.rules.yaml").read_text() == render_slo_rules(load_slos(SLOS))


def test_rules_slo_burn_rates_match_workbook_for_30d() -> None:
    """For a 30-day period the tiers are the SRE workbook's 14.4, 6 and 1, plus the 1-day ticket at 3."""
    assert [burn_rate(t, "30d") for t in (*PAGE_TIERS, *TICKET_TIERS)] == [14.4, 6.0, 3.0, 1.0]


def test_rules_slo_burn_rates_scale_with_period() -> None:
    """A 28-day period consumes the same budget shares at proportionally lower rates."""
    assert [burn_rate(t, "28d") for t in (*PAGE_TIERS, *TICKET_TIERS)] == [13.44, 5.6, 2.8, 0.933333]


def test_rules_slo_renders_one_alert_set_per_service() -> None:
    """Each service gets fast and slow alerts for both SLOs and its down, crash-loop and route alerts,
    each selecting only its own job."""
    text = render_slo_rules(parse_slos({"period": "30d", "services": [GOOD, {**GOOD, "job": "web"}]}))
    alerts = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r]
    assert sorted((a["labels"]["job"], a["alert"]) for a in alerts) == sorted(
        (job, name)
        for job in ("api", "web")
        for name in (
            "SloAvailabilityBurnRateFast",
            "SloAvailabilityBurnRateSlow",
            "SloLatencyBurnRateFast",
            "SloLatencyBurnRateSlow",
            "SloServiceDown",
            "SloServiceCrashLooping",
            "SloRouteErrorBurst",
        )
    )
    assert all(f'job="{a["labels"]["job"]}"' in a["expr"] for a in alerts)


def test_rules_slo_page_alerts_carry_low_traffic_guard() -> None:
    """Fast-burn alerts require the service's minimum request count over the last hour."""
    text = render_slo_rules(
        parse_slos({"period": "30d", "services": [{**GOOD, "min_requests_per_hour": 42}]})
    )
    fast = [
        r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if r.get("alert", "").endswith("Fast")
    ]
    assert fast and all('job:http_server_requests:rate1h{job="api"} * 3600 >= 42' in r["expr"] for r in fast)


def test_rules_slo_refuses_threshold_off_bucket() -> None:
    """A latency threshold that is no histogram bucket boundary is refused, naming the field."""
    with pytest.raises(SloError, match=r"services\[0\] \(job api\): field 'latency_threshold_seconds' 0.3"):
        parse_slos({"period": "30d", "services": [{**GOOD, "latency_threshold_seconds": 0.3}]}, "slos.yaml")


def test_rules_slo_refuses_target_out_of_range() -> None:
    """An availability target of 1 (no error budget) is refused."""
    with pytest.raises(SloError, match="availability_target"):
        parse_slos({"period": "30d", "services": [{**GOOD, "availability_target": 1}]})


def test_rules_slo_refuses_missing_field(tmp_path: Path) -> None:
    """A service without a latency target is refused with the file and field named."""
    path = tmp_path / "slos.yaml"
    path.write_text(
        yaml.safe_dump(
            {"period": "30d", "services": [{k: v for k, v in GOOD.items() if k != "latency_target"}]}
        )
    )
    with pytest.raises(SloError, match=rf"{path}: services\[0\] \(job api\): missing field 'latency_target'"):
        load_slos(path)


def test_rules_slo_refuses_unknown_field() -> None:
    """A misspelt field is refused rather than ignored."""
    with pytest.raises(SloError, match="availabilty_target"):
        parse_slos({"period": "30d", "services": [{**GOOD, "availabilty_target": 0.99}]})


def test_rules_slo_le_matcher_accepts_both_spellings() -> None:
    """The bucket matcher for 1.0 s accepts the Go spelling 1 and the Python spelling 1.0."""
    assert le_matcher(1.0) == 'le=~"1|1\\\\.0"'
    assert le_matcher(0.5) == 'le="0.5"'


def test_rules_slo_refuses_period_within_ticket_window() -> None:
    """A period no longer than the 3-day ticket window is refused, naming the field."""
    with pytest.raises(SloError, match="field 'period' '3d' must be longer"):
        parse_slos({"period": "3d", "services": [GOOD]})


def test_rules_slo_refuses_non_integer_min_requests() -> None:
    """A non-integer low-traffic guard is refused with the service and field named."""
    with pytest.raises(SloError, match=r"\(job api\): field 'min_requests_per_hour' must be a int"):
        parse_slos({"period": "30d", "services": [{**GOOD, "min_requests_per_hour": "lots"}]})


def _rules(**extra: object) -> dict[str, dict[str, object]]:
    text = render_slo_rules(parse_slos({"period": "30d", "services": [{**GOOD, **extra}]}))
    return {r.get("alert") or r["record"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}


def test_rules_slo_sli_leaves_out_probe_routes() -> None:
    """Every SLI recording rule drops the contract's health and probe routes; a service may set its own."""
    rules = _rules()
    recorded = [r for name, r in rules.items() if ":" in name]
    assert recorded and all('http_route!~"/healthz|/livez|/readyz|/health|/metrics"' in str(r["expr"]) for r in recorded)
    custom = _rules(sli_exclude_routes=["/status.json"])
    assert 'http_route!~"/status\\\\.json"' in str(custom["job:http_server_requests:rate5m"]["expr"])
    none = _rules(sli_exclude_routes=[])
    assert "http_route" not in str(none["job:http_server_requests:rate5m"]["expr"])


def test_rules_slo_scale_to_zero_drops_the_absent_branch() -> None:
    """A service that scales to zero on purpose pages only when its targets report down, not when they vanish."""
    assert "absent_over_time" in str(_rules()["SloServiceDown"]["expr"])
    down = str(_rules(scale_to_zero=True)["SloServiceDown"]["expr"])
    assert "absent_over_time" not in down and "max_over_time(up{" in down


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sli_exclude_routes": "/healthz"}, "field 'sli_exclude_routes' must be a list of routes"),
        ({"sli_exclude_routes": ["healthz"]}, "field 'sli_exclude_routes' must be a list of routes"),
        ({"scale_to_zero": "yes"}, "field 'scale_to_zero' must be true or false"),
        ({"route_error_ratio": 1.5}, "field 'route_error_ratio' must be between 0 and 1"),
        ({"route_min_requests": 0}, "field 'route_min_requests' must be >= 1"),
    ],
)
def test_rules_slo_new_fields_reject_bad_values(extra: dict[str, object], message: str) -> None:
    """A bad value in the new per-service fields names the file, the job and the field."""
    with pytest.raises(SloError, match=message) as info:
        parse_slos({"period": "30d", "services": [{**GOOD, **extra}]}, "slos.yaml")
    assert "slos.yaml: services[0] (job api)" in str(info.value)
