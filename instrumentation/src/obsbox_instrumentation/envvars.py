"""Reading one environment variable as a typed value; a value obsbox cannot use is an error.

Pure functions over a mapping, shared by obsbox's own settings (``OBSBOX_*``) and the ``OTEL_*``
exporter variables obsbox reads itself, so both fail the same way: a SettingsError naming the
variable, never a silent fall-back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar


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
    return _env_number(env, name, default, minimum, int, "an integer")


def env_float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    return _env_number(env, name, default, minimum, float, "a number")


_Number = TypeVar("_Number", int, float)


def _env_number(
    env: Mapping[str, str], name: str, default: _Number, minimum: _Number, parse: Callable[[str], _Number], expected: str
) -> _Number:
    value = env_str(env, name)
    if value is None:
        return default
    try:
        parsed = parse(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: expected {expected}") from None
    if parsed < minimum:
        raise SettingsError(f"{name}={value!r}: must be >= {minimum}")
    return parsed
