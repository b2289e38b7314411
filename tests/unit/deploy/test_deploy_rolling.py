"""A change rolls host by host: the restart or reload and its readiness wait are one serial operation.

unit_and_service() is run with pyinfra's operations replaced by recorders, so the test sees exactly
the operations and global arguments the deploy hands pyinfra (pyinfra runs a ``_serial`` operation
on one host after the other, each to completion).
"""

from __future__ import annotations

from typing import Any

import pytest

from obsbox.deploy.operations import service
from obsbox.render.systemd import UnitSettings


class _Op:
    def __init__(self, name: str, changed: bool) -> None:
        self.name = name
        self.changed = changed

    def did_change(self) -> bool:
        return self.changed


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []

    def shell(**kwargs: Any) -> _Op:
        ops.append(kwargs)
        return _Op(kwargs["name"], True)

    monkeypatch.setattr(service.server, "shell", shell)
    monkeypatch.setattr(service.files, "put", lambda **kwargs: _Op(kwargs["name"], False))
    # A running, enabled unit (the UnitState fact).
    monkeypatch.setattr(
        service, "host", type("Host", (), {"get_fact": staticmethod(lambda *a, **k: (True, True))})()
    )
    return ops


def _deploy(reload_on: list[_Op], restart_on: list[_Op]) -> None:
    unit = UnitSettings(
        name="prometheus",
        description="Prometheus (obsbox)",
        user="prometheus",
        exec_start=("/bin/true",),
        reload_signal="HUP",
    )
    service.unit_and_service(
        unit,
        restart_on=restart_on,
        reload_on=reload_on,
        ready_url="http://10.0.0.21:9090/-/ready",
        ready_timeout=60,
    )  # type: ignore[arg-type]


def test_restart_and_readiness_are_one_serial_operation(recorded: list[dict[str, Any]]) -> None:
    """The restart command and the readiness poll run in one operation marked _serial."""
    _deploy(reload_on=[], restart_on=[_Op("new binary", True)])
    (restart,) = [op for op in recorded if op["name"].startswith("Restart prometheus")]
    assert restart["_serial"] is True
    assert restart["commands"][0] == "systemctl restart prometheus.service"
    assert "/-/ready" in restart["commands"][1] and "did not become ready" in restart["commands"][1]
    assert restart["_if"]() is True


def test_reload_and_readiness_are_one_serial_operation(recorded: list[dict[str, Any]]) -> None:
    """A new config reloads and waits for readiness host by host, and only when the config changed."""
    _deploy(reload_on=[_Op("new prometheus.yml", True)], restart_on=[])
    (reload,) = [op for op in recorded if op["name"].startswith("Reload prometheus")]
    assert reload["_serial"] is True
    assert reload["commands"][0] == "systemctl try-reload-or-restart prometheus.service"
    assert "/-/ready" in reload["commands"][1]
    assert reload["_if"]() is True
    (restart,) = [op for op in recorded if op["name"].startswith("Restart prometheus")]
    assert restart["_if"]() is False


def test_unchanged_host_neither_restarts_nor_reloads(recorded: list[dict[str, Any]]) -> None:
    """A second run with nothing changed plans no restart, reload or wait on a running unit."""
    _deploy(reload_on=[_Op("same config", False)], restart_on=[_Op("same binary", False)])
    for op in recorded:
        if op["name"].startswith(("Restart", "Reload prometheus", "Wait")):
            assert op["_if"]() is False, op["name"]
