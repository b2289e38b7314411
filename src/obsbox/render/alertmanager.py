"""Render alertmanager.yml from typed settings.

The routing tree follows the alert rules' conventions (docs/architecture.md, Conventions): ``severity`` decides
the receiver (critical pages, warning opens a ticket, info is recorded but notifies nobody), the
always-firing ``Watchdog`` goes to its own heartbeat receiver so a dead-man's switch outside the
stack notices when alerting itself dies, and two inhibitions remove duplicate noise during an
incident: a host that is down silences the alerts of what runs on it, and a fast SLO burn
silences the slow burn of the same SLO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

RECEIVER_PAGE = "page"
RECEIVER_TICKET = "ticket"
RECEIVER_WATCHDOG = "watchdog"
RECEIVER_NULL = "null"

WATCHDOG_ALERT = "Watchdog"
HOST_DOWN_ALERT = "HostDown"
# Label every host-scoped alert carries (the node's address without the port); HostDown
# inhibits every alert with the same value.
HOST_LABEL = "host"
# Labels the SLO burn-rate alerts carry (see obsbox.rules.slo).
SLO_LABEL = "slo"
BURN_LABEL = "burn"


# The settings fields holding each receiver's webhook; None leaves that receiver without a target.
RECEIVER_URL_FIELDS = ("page_webhook_url", "ticket_webhook_url", "watchdog_webhook_url")


@dataclass(frozen=True)
class AlertmanagerSettings:
    """Everything alertmanager.yml depends on; every field has a working default."""

    # None: the receiver has no target and notifies nobody. The deploy refuses that unless the
    # inventory opts out explicitly (alertmanager_allow_no_receivers, obsbox.deploy.settings).
    page_webhook_url: str | None = None
    ticket_webhook_url: str | None = None
    # The Watchdog heartbeat's target: a dead man's switch outside the stack.
    watchdog_webhook_url: str | None = None
    group_by: tuple[str, ...] = ("alertname", "job")
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    page_repeat_interval: str = "1h"
    # The heartbeat must repeat more often than the dead-man's switch's timeout.
    watchdog_repeat_interval: str = "1m"
    resolve_timeout: str = "5m"
    send_resolved: bool = True
    # 0 means all alerts of a group in one webhook call.
    webhook_max_alerts: int = 0
    extra_inhibit_equal: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in RECEIVER_URL_FIELDS:
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
                raise ValueError(f"AlertmanagerSettings.{name}: {value!r} is not an http(s) URL")
        if not self.group_by:
            raise ValueError("AlertmanagerSettings.group_by: needs at least one label")
        if self.webhook_max_alerts < 0:
            raise ValueError("AlertmanagerSettings.webhook_max_alerts: must be >= 0")


def _webhook(url: str, settings: AlertmanagerSettings) -> dict[str, Any]:
    return {"url": url, "send_resolved": settings.send_resolved, "max_alerts": settings.webhook_max_alerts}


def _receiver(name: str, url: str | None, settings: AlertmanagerSettings) -> dict[str, Any]:
    if url is None:
        return {"name": name}
    return {"name": name, "webhook_configs": [_webhook(url, settings)]}


def unrouted_receivers(settings: AlertmanagerSettings) -> tuple[str, ...]:
    """The settings fields whose receiver would notify nobody (no webhook URL)."""
    return tuple(name for name in RECEIVER_URL_FIELDS if getattr(settings, name) is None)


def _receivers(settings: AlertmanagerSettings) -> list[dict[str, Any]]:
    return [
        _receiver(RECEIVER_PAGE, settings.page_webhook_url, settings),
        _receiver(RECEIVER_TICKET, settings.ticket_webhook_url, settings),
        _receiver(RECEIVER_WATCHDOG, settings.watchdog_webhook_url, settings),
        {"name": RECEIVER_NULL},
    ]


def _route(settings: AlertmanagerSettings) -> dict[str, Any]:
    return {
        # Anything without a known severity still reaches a human, as a ticket.
        "receiver": RECEIVER_TICKET,
        "group_by": list(settings.group_by),
        "group_wait": settings.group_wait,
        "group_interval": settings.group_interval,
        "repeat_interval": settings.repeat_interval,
        "routes": [
            {
                "receiver": RECEIVER_WATCHDOG,
                "matchers": [f'alertname="{WATCHDOG_ALERT}"'],
                "group_wait": "0s",
                "group_interval": settings.watchdog_repeat_interval,
                "repeat_interval": settings.watchdog_repeat_interval,
            },
            {
                "receiver": RECEIVER_PAGE,
                "matchers": ['severity="critical"'],
                "repeat_interval": settings.page_repeat_interval,
            },
            {"receiver": RECEIVER_TICKET, "matchers": ['severity="warning"']},
            {"receiver": RECEIVER_NULL, "matchers": ['severity="info"']},
        ],
    }


def _inhibit_rules(settings: AlertmanagerSettings) -> list[dict[str, Any]]:
    extra = list(settings.extra_inhibit_equal)
    return [
        {
            # A dead host explains every alert about what runs on it; page once, for the host.
            "source_matchers": [f'alertname="{HOST_DOWN_ALERT}"'],
            "target_matchers": [f'alertname!="{HOST_DOWN_ALERT}"', f'{HOST_LABEL}=~".+"'],
            "equal": [HOST_LABEL, *extra],
        },
        {
            # The fast burn already paged for this SLO; the slow burn's ticket says nothing new.
            "source_matchers": [f'{BURN_LABEL}="fast"'],
            "target_matchers": [f'{BURN_LABEL}="slow"'],
            "equal": ["job", SLO_LABEL, *extra],
        },
        {
            # The same alert at critical makes its warning twin redundant.
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", "job", *extra],
        },
    ]


def alertmanager_config(settings: AlertmanagerSettings) -> dict[str, Any]:
    """alertmanager.yml as Python data."""
    return {
        "global": {"resolve_timeout": settings.resolve_timeout},
        "route": _route(settings),
        "inhibit_rules": _inhibit_rules(settings),
        "receivers": _receivers(settings),
    }


def render_alertmanager_config(settings: AlertmanagerSettings) -> str:
    """alertmanager.yml text for these settings."""
    return yaml.safe_dump(alertmanager_config(settings), sort_keys=False, default_flow_style=False)
