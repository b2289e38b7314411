"""Fault switches: validation, matching per route and tenant, and sharing through a file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from examples.demo_service.faults import FaultError, FaultSwitches, parse_faults


def test_parse_rejects_unknown_rule_keys_naming_them() -> None:
    """A misspelt rule field is an error that names the field and lists the allowed ones."""
    with pytest.raises(FaultError, match=r"rules\[0\] has unknown keys \['eror_rate'\]"):
        parse_faults({"rules": [{"eror_rate": 0.5}]})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"rules": [{"error_rate": 1.5}]}, r"rules\[0\]\.error_rate must be within \[0\.0, 1\.0\]"),
        ({"rules": [{"status": 200}]}, r"rules\[0\]\.status must be an HTTP error status"),
        ({"rules": [{"latency_ms": "slow"}]}, r"rules\[0\]\.latency_ms must be a number"),
        ({"jobs": {"fail_rate": -1}}, r"jobs\.fail_rate must be within"),
        ({"rule": []}, r"unknown fault keys: \['rule'\]"),
        ([], r"faults must be a JSON object"),
    ],
)
def test_parse_rejects_bad_values_with_a_clear_message(spec: object, message: str) -> None:
    """Out-of-range or mistyped values fail with a message naming the bad field."""
    with pytest.raises(FaultError, match=message):
        parse_faults(spec)


def test_rule_applies_only_to_its_route_and_tenant() -> None:
    """A rule for one route and tenant fails exactly those requests."""
    switches = FaultSwitches(
        parse_faults(
            {"rules": [{"route": "/v1/invoices", "tenant": "acme", "error_rate": 1.0, "status": 503}]}
        )
    )
    assert switches.decide("/v1/invoices", "acme").status == 503
    assert switches.decide("/v1/invoices", "globex").status is None
    assert switches.decide("/v2/invoices", "acme").status is None


def test_latencies_of_matching_rules_add_up() -> None:
    """A wildcard rule and a tenant rule both matching add their latencies."""
    switches = FaultSwitches(
        parse_faults({"rules": [{"latency_ms": 100}, {"tenant": "acme", "latency_ms": 50}]})
    )
    assert switches.decide("/v1/invoices", "acme").latency_s == pytest.approx(0.15)
    assert switches.decide("/v1/invoices", "globex").latency_s == pytest.approx(0.1)


def test_error_rate_is_honoured_statistically() -> None:
    """An error rate of 0.3 fails about 30% of 10,000 seeded decisions."""
    switches = FaultSwitches(parse_faults({"rules": [{"error_rate": 0.3}]}), rng=random.Random(42))
    failures = sum(switches.decide("/v1/invoices", "t").status is not None for _ in range(10_000))
    assert 2800 < failures < 3200


def test_file_shares_changes_between_processes(tmp_path: Path) -> None:
    """A change made through one switch object is seen by another reading the same file."""
    path = str(tmp_path / "faults.json")
    writer, reader = FaultSwitches(path=path), FaultSwitches(path=path)
    assert reader.current.rules == ()
    writer.set(parse_faults({"rules": [{"tenant": "acme", "error_rate": 1.0}]}))
    assert reader.decide("/v1/invoices", "acme").status == 500
    writer.set(parse_faults({}))
    assert reader.decide("/v1/invoices", "acme").status is None


def test_env_json_that_does_not_parse_is_an_error() -> None:
    """OBSBOX_DEMO_FAULTS holding broken JSON fails at start with the variable's name."""
    with pytest.raises(FaultError, match="OBSBOX_DEMO_FAULTS is not valid JSON"):
        FaultSwitches.from_env({"OBSBOX_DEMO_FAULTS": "{rules: ["})


def test_job_faults_fail_and_slow_jobs() -> None:
    """A job fail rate of 1 fails every job and slow_ms adds that much work."""
    switches = FaultSwitches(parse_faults({"jobs": {"fail_rate": 1.0, "slow_ms": 250}}))
    assert switches.job_decision() == (True, 0.25)
