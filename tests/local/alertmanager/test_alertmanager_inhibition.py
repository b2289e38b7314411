"""The rendered inhibitions, exercised on a real Alertmanager."""

from __future__ import annotations

import time
import uuid

import requests


def _post(url: str, *label_sets: dict[str, str]) -> None:
    alerts = [{"labels": labels, "annotations": {"summary": "test"}} for labels in label_sets]
    requests.post(f"{url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()


def _inhibited(url: str, marker: str, alertname: str, timeout: float = 10.0) -> bool:
    """Whether the test's alert `alertname` ends up inhibited (the inhibitor learns sources asynchronously)."""
    deadline = time.monotonic() + timeout
    state = False
    while True:
        alerts = requests.get(f"{url}/api/v2/alerts", params={"filter": f'test="{marker}"'}, timeout=5).json()
        found = [a for a in alerts if a["labels"]["alertname"] == alertname]
        state = bool(found) and bool(found[0]["status"]["inhibitedBy"])
        if state or time.monotonic() >= deadline:
            return state
        time.sleep(0.1)  # polling interval, bounded by the deadline


def test_alertmanager_host_down_inhibits_that_hosts_alerts(alertmanager_url: str) -> None:
    """HostDown for a host inhibits a service alert carrying the same host label."""
    m = uuid.uuid4().hex
    _post(
        alertmanager_url,
        {"alertname": "HostDown", "severity": "critical", "host": "app-1", "test": m},
        {"alertname": "JobWorkersGone", "severity": "critical", "host": "app-1", "job": "worker", "test": m},
    )
    assert _inhibited(alertmanager_url, m, "JobWorkersGone")


def test_alertmanager_host_down_spares_other_hosts(alertmanager_url: str) -> None:
    """HostDown for one host leaves another host's alerts alone."""
    m = uuid.uuid4().hex
    _post(
        alertmanager_url,
        {"alertname": "HostDown", "severity": "critical", "host": "app-1", "test": m},
        {"alertname": "JobWorkersGone", "severity": "critical", "host": "app-1", "job": "worker", "test": m},
        {
            "alertname": "JobQueueBacklogGrowing",
            "severity": "warning",
            "host": "app-2",
            "job": "worker",
            "test": m,
        },
    )
    # Once the same-host alert is inhibited, the inhibitor knows the source: the verdict is final.
    assert _inhibited(alertmanager_url, m, "JobWorkersGone")
    assert not _inhibited(alertmanager_url, m, "JobQueueBacklogGrowing", timeout=0)


def test_alertmanager_fast_burn_inhibits_slow_burn(alertmanager_url: str) -> None:
    """A fast burn of an SLO inhibits the slow burn of the same SLO and service."""
    m = uuid.uuid4().hex
    _post(
        alertmanager_url,
        {
            "alertname": "SloAvailabilityBurnRateFast",
            "severity": "critical",
            "job": "demo",
            "slo": "availability",
            "burn": "fast",
            "test": m,
        },
        {
            "alertname": "SloAvailabilityBurnRateSlow",
            "severity": "warning",
            "job": "demo",
            "slo": "availability",
            "burn": "slow",
            "test": m,
        },
    )
    assert _inhibited(alertmanager_url, m, "SloAvailabilityBurnRateSlow")


def test_alertmanager_fast_burn_spares_other_slo(alertmanager_url: str) -> None:
    """A fast availability burn leaves the latency SLO's slow burn alone."""
    m = uuid.uuid4().hex
    _post(
        alertmanager_url,
        {
            "alertname": "SloAvailabilityBurnRateFast",
            "severity": "critical",
            "job": "demo",
            "slo": "availability",
            "burn": "fast",
            "test": m,
        },
        {
            "alertname": "SloAvailabilityBurnRateSlow",
            "severity": "warning",
            "job": "demo",
            "slo": "availability",
            "burn": "slow",
            "test": m,
        },
        {
            "alertname": "SloLatencyBurnRateSlow",
            "severity": "warning",
            "job": "demo",
            "slo": "latency",
            "burn": "slow",
            "test": m,
        },
    )
    assert _inhibited(alertmanager_url, m, "SloAvailabilityBurnRateSlow")
    assert not _inhibited(alertmanager_url, m, "SloLatencyBurnRateSlow", timeout=0)
