"""Reading one environment variable as a typed value; a value obsbox cannot use is an error.

Pure functions over a mapping, shared by obsbox's own settings (``OBSBOX_*``) and the ``OTEL_*``
exporter variables obsbox reads itself, so both fail the same way: a SettingsError naming the
variable, never a silent fall-back.
"""

from __future__ import annotations

from collections.abc import Mapping


class SettingsError(ValueError):
    """A setting has a value obsbox cannot use; the message names the variable."""


def env_str(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value, or None when unset or blank."""
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env_str(env, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    value = env_str(env, name)
    if value is None:
        return default
    try:
        parsed = int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected an integer") from None
    if parsed < minimum:
        raise SettingsError(f"{name}={value!r}: must be >= {minimum}")
    return parsed


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    value = env_str(env, name)
    if value is None:
        return default
    try:
        parsed = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected a number") from None
    if parsed < minimum:
        raise SettingsError(f"{name}={value!r}: must be >= {minimum}")
    return parsed
