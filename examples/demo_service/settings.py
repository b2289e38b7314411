"""The demo service's own settings, from OBSBOX_DEMO_* variables (read once at start)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV_PAYMENTS_URL = "OBSBOX_DEMO_PAYMENTS_URL"
ENV_PAYMENTS_TIMEOUT = "OBSBOX_DEMO_PAYMENTS_TIMEOUT"
ENV_REDIS_URL = "OBSBOX_DEMO_REDIS_URL"
ENV_QUEUE = "OBSBOX_DEMO_QUEUE"
ENV_SERVICE_NAME = "OTEL_SERVICE_NAME"
# "obsbox" wires the obsbox package in the app (the default); "off" leaves the app bare, which is
# what the benchmark's baseline and the vanilla opentelemetry-instrument run need.
ENV_INSTRUMENT = "OBSBOX_DEMO_INSTRUMENT"
INSTRUMENT_MODES = ("obsbox", "off")


class DemoSettingsError(ValueError):
    """A demo setting cannot be used; the message names the variable."""


@dataclass(frozen=True)
class DemoSettings:
    payments_url: str = "http://127.0.0.1:8081"
    payments_timeout_s: float = 2.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue: str = "reports"
    service_name: str = "invoicing-demo"
    instrument: str = "obsbox"


def load_settings(env: Mapping[str, str] | None = None) -> DemoSettings:
    env = os.environ if env is None else env
    d = DemoSettings()
    timeout_raw = env.get(ENV_PAYMENTS_TIMEOUT, "").strip()
    timeout = d.payments_timeout_s
    if timeout_raw:
        try:
            timeout = float(timeout_raw)
        except ValueError:
            raise DemoSettingsError(f"{ENV_PAYMENTS_TIMEOUT}={timeout_raw!r}: expected seconds") from None
        if timeout <= 0:
            raise DemoSettingsError(f"{ENV_PAYMENTS_TIMEOUT}={timeout_raw!r}: must be > 0")
    instrument = env.get(ENV_INSTRUMENT, "").strip().lower() or d.instrument
    if instrument not in INSTRUMENT_MODES:
        raise DemoSettingsError(
            f"{ENV_INSTRUMENT}={instrument!r}: expected one of {', '.join(INSTRUMENT_MODES)}"
        )
    return DemoSettings(
        payments_url=(env.get(ENV_PAYMENTS_URL, "").strip() or d.payments_url).rstrip("/"),
        payments_timeout_s=timeout,
        redis_url=env.get(ENV_REDIS_URL, "").strip() or d.redis_url,
        queue=env.get(ENV_QUEUE, "").strip() or d.queue,
        service_name=env.get(ENV_SERVICE_NAME, "").strip() or d.service_name,
        instrument=instrument,
    )
