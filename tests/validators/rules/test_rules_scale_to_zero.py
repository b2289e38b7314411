"""A service labelled `scale_to_zero` in slos.yaml is not paged when its targets vanish on
purpose; an unlabelled one is, and both page when their targets report down (pinned promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from obsbox.rules.slo import parse_slos, render_slo_rules

SERVICE = {"availability_target": 0.999, "latency_threshold_seconds": 0.5, "latency_target": 0.99}


def _series(job: str, up: str, count: str) -> list[dict[str, str]]:
    return [
        {"series": f'up{{job="{job}",instance="a:9464"}}', "values": up},
        {
            "series": f'http_server_request_duration_seconds_count{{job="{job}",instance="a:9464",'
            f'http_route="/v1/x",http_response_status_code="200"}}',
            "values": count,
        },
    ]


def _case(scaled: str, steady: str, up: str, count: str, expect_steady: bool) -> dict[str, object]:
    """Both services see the same series; only the unlabelled one may page."""
    alerts: list[dict[str, object]] = []
    if expect_steady:
        alerts.append({"exp_labels": {"job": steady, "severity": "critical", "slo": "availability"}})
    return {
        "interval": "1m",
        "input_series": _series(scaled, up, count) + _series(steady, up, count),
        "alert_rule_test": [{"alertname": "SloServiceDown", "eval_time": "75m", "exp_alerts": alerts}],
    }


def test_scale_to_zero_pages_only_for_reported_down(promtool: str, tmp_path: Path) -> None:
    """Targets gone after an hour of traffic page only the unlabelled service; targets reporting
    down page both."""
    settings = parse_slos(
        {"period": "30d", "services": [{"job": "batch", "scale_to_zero": True, **SERVICE}, {"job": "web", **SERVICE}]}
    )
    (tmp_path / "slo.rules.yaml").write_text(render_slo_rules(settings))
    vanished = _case("batch", "web", "1x59", "0+600x59", expect_steady=True)
    down = _case("batch", "web", "1x59 0x20", "0+600x59 _x20", expect_steady=True)
    down["alert_rule_test"][0]["exp_alerts"].insert(  # type: ignore[index]
        0, {"exp_labels": {"job": "batch", "severity": "critical", "slo": "availability"}}
    )
    tests = {"rule_files": ["slo.rules.yaml"], "evaluation_interval": "1m", "tests": [vanished, down]}
    # promtool compares annotations too; these cases only assert which jobs fire, so drop them.
    rules = yaml.safe_load((tmp_path / "slo.rules.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "slo.rules.yaml").write_text(yaml.safe_dump(rules))
    (tmp_path / "slo.test.yaml").write_text(yaml.safe_dump(tests))
    out = subprocess.run(
        [promtool, "test", "rules", "slo.test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
