"""The all-in-one stack converged on a throwaway systemd host: services, hardening, idempotence,
refusal of a broken rule file, and an injected fault paging through Alertmanager."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from obsbox.hosts import demo_app
from obsbox.hosts.stack import INSTALLABLE, NOT_OBTAINABLE, PORTS, StackHost, converge_stack

UNITS = {
    "prometheus": "prometheus.service",
    "alertmanager": "alertmanager.service",
    "node_exporter": "node_exporter.service",
    "otelcol": "otelcol.service",
}
READY_PATHS = {"prometheus": "/-/ready", "alertmanager": "/-/ready", "node_exporter": "/metrics", "otelcol": "/"}
EXPOSURE_TARGET = 3.0
ALERT_TIMEOUT_S = 420.0


def _http_code(stack: StackHost, url: str) -> str:
    return stack.host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {url}", check=False).stdout.strip()


def _prometheus_api(stack: StackHost, path: str) -> dict:
    out = stack.host.run(f"curl -fsS 'http://127.0.0.1:{PORTS['prometheus']}{path}'").stdout
    return json.loads(out)


@pytest.mark.parametrize("component", INSTALLABLE)
def test_installed_services_are_active(stack_host: StackHost, component: str) -> None:
    """Each installable component's unit is active after the first converge."""
    state = stack_host.host.run(f"systemctl is-active {UNITS[component]}", check=False).stdout.strip()
    assert state == "active"


@pytest.mark.parametrize("component", INSTALLABLE)
def test_ready_endpoints_answer(stack_host: StackHost, component: str) -> None:
    """Each installed service answers its readiness endpoint with 200."""
    url = f"http://127.0.0.1:{PORTS[component]}{READY_PATHS[component]}"
    assert _http_code(stack_host, url) == "200"


@pytest.mark.parametrize("component", INSTALLABLE)
def test_units_meet_exposure_target(stack_host: StackHost, component: str) -> None:
    """systemd-analyze security rates every installed unit at or below the 3.0 exposure target."""
    out = stack_host.host.run(f"systemd-analyze security --no-pager {UNITS[component]} | tail -1").stdout
    # "→ Overall exposure level for prometheus.service: 1.1 OK :-)"
    score = float(out.split(":")[1].split()[0])
    assert score <= EXPOSURE_TARGET, out


@pytest.mark.parametrize("component", NOT_OBTAINABLE)
def test_unobtainable_components_are_not_installed(stack_host: StackHost, component: str) -> None:
    """Components without an obtainable release are reported skipped and have no unit on the host."""
    assert component in stack_host.skipped
    listed = stack_host.host.run(f"systemctl list-unit-files --no-legend '{component}*.service'", check=False).stdout
    assert listed.strip() == ""


def test_second_run_changes_nothing(stack_host: StackHost) -> None:
    """Converging the same stack again reports no changed operation."""
    again = converge_stack(stack_host.host, stack_host.data)
    assert again.ok, again.output
    assert again.changed == 0, again.output
    assert again.unchanged > 0


def test_broken_rule_file_is_refused_and_old_config_keeps_serving(stack_host: StackHost, repo_root: Path, tmp_path: Path) -> None:
    """A rule file promtool rejects fails the deploy, stays off the host, and Prometheus keeps its old rules."""
    before = {g["name"] for g in _prometheus_api(stack_host, "/api/v1/rules")["data"]["groups"]}
    assert before
    rules = tmp_path / "rules"
    shutil.copytree(repo_root / "alert_rules", rules, ignore=shutil.ignore_patterns("incidents", "tests", "runbooks"))
    (rules / "broken.rules.yaml").write_text(
        "groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr: rate(http_requests_total[5m]\n"
    )
    try:
        refused = converge_stack(stack_host.host, {**stack_host.data, "obsbox_rules_dir": str(rules)})
        assert not refused.ok, refused.output
        # pyinfra stops a host at its failing operation: that must be the promtool check itself
        failed_op = refused.output.rsplit("Starting operation:", 1)[1].splitlines()[0]
        assert "broken.rules.yaml" in failed_op and "promtool" in failed_op, refused.output
        assert "could not parse expression" in refused.output
        listing = stack_host.host.run("ls /etc/prometheus/rules").stdout.split()
        assert "broken.rules.yaml" not in listing
        assert _http_code(stack_host, f"http://127.0.0.1:{PORTS['prometheus']}/-/ready") == "200"
        after = {g["name"] for g in _prometheus_api(stack_host, "/api/v1/rules")["data"]["groups"]}
        assert after == before
    finally:
        restored = converge_stack(stack_host.host, stack_host.data)
        assert restored.ok, restored.output


def test_demo_service_metrics_arrive_through_the_collector(stack_host: StackHost) -> None:
    """The demo service pushes OTLP to the collector on the host; Prometheus scrapes them from the
    collector's exporter with the service's own job and instance, and scrapes nothing else for it."""
    query = f'sum(http_server_request_duration_seconds_count{{job="{demo_app.SERVICE_JOB}"}})'
    deadline = time.monotonic() + 90
    value = 0.0
    while time.monotonic() < deadline:
        result = _query(stack_host, query)
        value = float(result[0]["value"][1]) if result else 0.0
        if value > 0:
            break
        time.sleep(1)
    assert value > 0
    (series,) = _query(stack_host, f'count by (job, instance) (http_server_request_duration_seconds_count{{job="{demo_app.SERVICE_JOB}"}})')
    # instance is the service's service.instance.id, not the collector's address
    assert not series["metric"]["instance"].endswith(":8889"), series
    up = _query(stack_host, 'up{job="otelcol-otlp-metrics"}')
    assert [float(r["value"][1]) for r in up] == [1.0]
    assert _query(stack_host, f'up{{job="{demo_app.SERVICE_JOB}"}}') == []
    # The collector's own counters carry no _total suffix (collector 0.161 telemetry).
    received = _query(stack_host, 'sum(otelcol_receiver_accepted_metric_points{receiver="otlp"})')
    assert received and float(received[0]["value"][1]) > 0


def test_pinned_versions_are_what_runs(stack_host: StackHost) -> None:
    """The services on the host report the versions the deploy pins (built from their Go modules)."""
    build = _query(stack_host, "prometheus_build_info")
    assert build[0]["metric"]["version"] == stack_host.data["prometheus_version"]
    versions = {
        "alertmanager": stack_host.host.run("/usr/local/bin/alertmanager --version 2>&1 | head -1").stdout,
        "node_exporter": stack_host.host.run("/usr/local/bin/node_exporter --version 2>&1 | head -1").stdout,
        "otelcol": stack_host.host.run("/usr/local/bin/otelcol --version").stdout,
    }
    for component, out in versions.items():
        assert str(stack_host.data[f"{component}_version"]) in out, (component, out)


def test_injected_fault_alert_reaches_webhook(stack_host: StackHost) -> None:
    """An injected 5xx incident fires SloAvailabilityBurnRateFast, which Alertmanager pages to the webhook."""
    demo_app.set_faults(stack_host.host, demo_app.error_incident(error_rate=0.5))
    try:
        got = stack_host.inbox.wait_for_alert("SloAvailabilityBurnRateFast", timeout=ALERT_TIMEOUT_S)
    finally:
        demo_app.set_faults(stack_host.host, {})
    assert got is not None, f"no page within {ALERT_TIMEOUT_S:.0f}s; received: {stack_host.inbox.received}"
    path, alert = got
    assert path == "/page"
    assert alert["labels"]["job"] == demo_app.SERVICE_JOB
    assert alert["labels"]["severity"] == "critical"


def _query(stack: StackHost, promql: str) -> list[dict]:
    return _prometheus_api(stack, f"/api/v1/query?query={quote(promql, safe='')}")["data"]["result"]
