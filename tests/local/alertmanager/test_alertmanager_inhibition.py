"""The rendered inhibitions, exercised on a real Alertmanager."""

from __future__ import annotations

import time
import uuid

import pytest
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


HOST_DOWN_APP_1 = {"alertname": "HostDown", "severity": "critical", "host": "app-1"}
WORKERS_GONE_APP_1 = {"alertname": "JobWorkersGone", "severity": "critical", "host": "app-1", "job": "worker"}
BACKLOG_APP_2 = {"alertname": "JobQueueBacklogGrowing", "severity": "warning", "host": "app-2", "job": "worker"}
AVAILABILITY_FAST = {
    "alertname": "SloAvailabilityBurnRateFast",
    "severity": "critical",
    "job": "demo",
    "slo": "availability",
    "burn": "fast",
}
AVAILABILITY_SLOW = {
    "alertname": "SloAvailabilityBurnRateSlow",
    "severity": "warning",
    "job": "demo",
    "slo": "availability",
    "burn": "slow",
}
LATENCY_SLOW = {
    "alertname": "SloLatencyBurnRateSlow",
    "severity": "warning",
    "job": "demo",
    "slo": "latency",
    "burn": "slow",
}


@pytest.mark.parametrize(
    ("source", "target"),
    [
        # HostDown for a host inhibits a service alert carrying the same host label.
        pytest.param(HOST_DOWN_APP_1, WORKERS_GONE_APP_1, id="host_down_inhibits_that_hosts_alerts"),
        # A fast burn of an SLO inhibits the slow burn of the same SLO and service.
        pytest.param(AVAILABILITY_FAST, AVAILABILITY_SLOW, id="fast_burn_inhibits_slow_burn"),
    ],
)
def test_alertmanager_inhibits(alertmanager_url: str, source: dict[str, str], target: dict[str, str]) -> None:
    """The source alert inhibits the target alert it is meant to silence."""
    m = uuid.uuid4().hex
    _post(alertmanager_url, {**source, "test": m}, {**target, "test": m})
    assert _inhibited(alertmanager_url, m, target["alertname"])


@pytest.mark.parametrize(
    ("source", "target", "bystander"),
    [
        # HostDown for one host leaves another host's alerts alone.
        pytest.param(HOST_DOWN_APP_1, WORKERS_GONE_APP_1, BACKLOG_APP_2, id="host_down_spares_other_hosts"),
        # A fast availability burn leaves the latency SLO's slow burn alone.
        pytest.param(AVAILABILITY_FAST, AVAILABILITY_SLOW, LATENCY_SLOW, id="fast_burn_spares_other_slo"),
    ],
)
def test_alertmanager_inhibition_spares(
    alertmanager_url: str, source: dict[str, str], target: dict[str, str], bystander: dict[str, str]
) -> None:
    """The source alert inhibits its target but leaves an alert outside its match alone."""
    m = uuid.uuid4().hex
    _post(alertmanager_url, {**source, "test": m}, {**target, "test": m}, {**bystander, "test": m})
    # Once the target is inhibited, the inhibitor knows the source: the verdict is final.
    assert _inhibited(alertmanager_url, m, target["alertname"])
    assert not _inhibited(alertmanager_url, m, bystander["alertname"], timeout=0)
