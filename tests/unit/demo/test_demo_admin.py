"""The demo app in-process (bare, no telemetry): admin endpoint rules and request validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from examples.demo_service.faults import FaultSwitches
from examples.demo_service.service import create_app
from examples.demo_service.settings import DemoSettings, DemoSettingsError, load_settings


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(
        DemoSettings(instrument="off", redis_url="redis://127.0.0.1:9/0"),
        FaultSwitches(path=str(tmp_path / "faults.json")),
    )


def test_admin_refuses_clients_that_are_not_loopback(app: Flask) -> None:
    """POST /admin/faults from a non-loopback address answers 403 and changes nothing."""
    client = app.test_client()
    resp = client.post(
        "/admin/faults", json={"rules": [{"error_rate": 1.0}]}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert resp.status_code == 403
    assert app.config["FAULTS"].current.rules == ()


def test_admin_sets_and_clears_faults_from_loopback(app: Flask) -> None:
    """A loopback client sets a rule that fails the next matching request, then clears it."""
    client = app.test_client()
    resp = client.post(
        "/admin/faults",
        json={"rules": [{"tenant": "acme", "error_rate": 1.0, "status": 503}]},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert resp.status_code == 200
    assert client.get("/v1/invoices", headers={"X-Tenant-ID": "acme"}).status_code == 503
    assert client.get("/v1/invoices", headers={"X-Tenant-ID": "globex"}).status_code == 200
    client.delete("/admin/faults", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert client.get("/v1/invoices", headers={"X-Tenant-ID": "acme"}).status_code == 200


def test_admin_rejects_a_bad_spec_with_the_reason(app: Flask) -> None:
    """An invalid fault specification answers 400 with the validation message."""
    resp = app.test_client().post(
        "/admin/faults", json={"rules": [{"error_rate": 2}]}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    )
    assert resp.status_code == 400
    assert "error_rate must be within" in resp.get_json()["error"]


def test_tenant_header_is_required_on_api_routes(app: Flask) -> None:
    """/v1 and /v2 routes without X-Tenant-ID answer 400 naming the header."""
    resp = app.test_client().get("/v2/invoices")
    assert resp.status_code == 400
    assert "X-Tenant-ID" in resp.get_json()["error"]


def test_report_with_queue_down_is_a_clear_503(app: Flask) -> None:
    """POST /v2/reports while Redis is unreachable answers 503, not a traceback."""
    resp = app.test_client().post("/v2/reports", json={"kind": "tax"}, headers={"X-Tenant-ID": "acme"})
    assert resp.status_code == 503
    assert resp.get_json()["error"] == "report queue unavailable"


def test_settings_reject_a_bad_timeout() -> None:
    """A non-numeric payments timeout fails with the variable's name."""
    with pytest.raises(DemoSettingsError, match="OBSBOX_DEMO_PAYMENTS_TIMEOUT"):
        load_settings({"OBSBOX_DEMO_PAYMENTS_TIMEOUT": "soon"})
