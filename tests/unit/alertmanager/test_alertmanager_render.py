"""alertmanager.yml rendering, parsed back (pure)."""

from __future__ import annotations

import pytest
import yaml

from obsbox.render.alertmanager import AlertmanagerSettings, render_alertmanager_config


def _parsed(**kwargs: object) -> dict:
    return yaml.safe_load(render_alertmanager_config(AlertmanagerSettings(**kwargs)))  # type: ignore[arg-type]


def test_alertmanager_render_uses_webhook_urls() -> None:
    """The page and ticket receivers post to the URLs given in the settings."""
    cfg = _parsed(
        page_webhook_url="https://pager.example/hook", ticket_webhook_url="https://tickets.example/h"
    )
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in cfg["receivers"] if "webhook_configs" in r}
    assert urls == {"page": "https://pager.example/hook", "ticket": "https://tickets.example/h"}


def test_alertmanager_render_watchdog_webhook_optional() -> None:
    """With a watchdog URL the heartbeat receiver gets a webhook; without, it notifies nobody."""
    with_url = _parsed(watchdog_webhook_url="https://deadmanssnitch.example/x")
    without = _parsed()
    by_name = {r["name"]: r for r in with_url["receivers"]}
    assert by_name["watchdog"]["webhook_configs"][0]["url"] == "https://deadmanssnitch.example/x"
    assert "webhook_configs" not in {r["name"]: r for r in without["receivers"]}["watchdog"]


def test_alertmanager_render_group_by_from_settings() -> None:
    """The top route groups by the configured labels."""
    assert _parsed(group_by=("alertname", "job", "tenant_id"))["route"]["group_by"] == [
        "alertname",
        "job",
        "tenant_id",
    ]


def test_alertmanager_settings_refuse_non_url() -> None:
    """A receiver URL that is not http(s) is refused with the field's name."""
    with pytest.raises(ValueError, match="page_webhook_url"):
        AlertmanagerSettings(page_webhook_url="pager.example/hook")


def test_alertmanager_settings_refuse_empty_group_by() -> None:
    """Grouping by nothing is refused."""
    with pytest.raises(ValueError, match="group_by"):
        AlertmanagerSettings(group_by=())
