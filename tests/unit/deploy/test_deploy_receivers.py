"""Issue 8 item 7: a deploy whose alerts would reach nobody refuses, naming the keys (pure)."""

from __future__ import annotations

import pytest
import yaml

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import InventoryDataError, settings_from_host_data
from obsbox.hosts.stack import StackPlan, stack_data

RECEIVER_KEYS = (
    "alertmanager_page_webhook_url",
    "alertmanager_ticket_webhook_url",
    "alertmanager_watchdog_webhook_url",
)


def _alertmanager_yml(**data: object) -> dict:
    plan = plan_for(settings_from_host_data(data), "alertmanager")
    (config,) = [f for g in plan.groups for f in g.files if f.path.endswith("alertmanager.yml")]
    return yaml.safe_load(config.content)


def test_deploy_default_alertmanager_refused_naming_every_receiver_key() -> None:
    """Default data (no webhooks) is refused with the three keys and a dead man's switch hint."""
    with pytest.raises(InventoryDataError) as error:
        settings_from_host_data({})
    message = str(error.value)
    assert message.startswith(", ".join(RECEIVER_KEYS) + ": not set")
    assert "dead man's switch" in message
    assert "alertmanager_allow_no_receivers" in message


def test_deploy_missing_watchdog_alone_is_named() -> None:
    """Page and ticket routed but no heartbeat target: the error names only the watchdog key."""
    with pytest.raises(InventoryDataError, match=r"^alertmanager_watchdog_webhook_url: not set"):
        settings_from_host_data(
            {"alertmanager_page_webhook_url": "https://p.example/x", "alertmanager_ticket_webhook_url": "https://t.example/x"}
        )


def test_deploy_lab_opt_out_renders_receivers_that_notify_nobody() -> None:
    """With alertmanager_allow_no_receivers the receivers have no target at all, never a loopback guess."""
    config = _alertmanager_yml(alertmanager_allow_no_receivers=True)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert all("webhook_configs" not in receivers[name] for name in ("page", "ticket", "watchdog"))
    assert "5001" not in yaml.safe_dump(config)


def test_deploy_routed_receivers_reach_their_webhooks() -> None:
    """Set URLs are the page, ticket and watchdog receivers' webhooks."""
    urls = {key: f"https://hooks.example/{key}" for key in RECEIVER_KEYS}
    config = _alertmanager_yml(**urls)
    got = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"] if "webhook_configs" in r}
    assert got == {
        "page": urls["alertmanager_page_webhook_url"],
        "ticket": urls["alertmanager_ticket_webhook_url"],
        "watchdog": urls["alertmanager_watchdog_webhook_url"],
    }


def test_deploy_host_without_alertmanager_needs_no_receivers() -> None:
    """A host that does not run Alertmanager (a multi-host role) is not asked for webhooks."""
    settings = settings_from_host_data({"alertmanager_enabled": False})
    assert not settings.enabled("alertmanager")


def test_deploy_throwaway_host_data_routes_every_receiver() -> None:
    """The demo's and tier-4's inventory data (stack_data with a webhook receiver) passes the check."""
    plan = StackPlan(versions={"prometheus": "2.42.0", "alertmanager": "0.25.0"}, skipped=("loki", "tempo", "otelcol", "grafana"))
    data = stack_data(None, "http://10.213.0.1:8080", plan, webhook_url="http://10.213.0.1:9999")  # type: ignore[arg-type]
    settings = settings_from_host_data(data)
    assert settings.alertmanager.watchdog_webhook_url == "http://10.213.0.1:9999/watchdog"
