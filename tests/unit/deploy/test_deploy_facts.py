"""obsbox's own pyinfra facts, parsed from command output (pure)."""

from __future__ import annotations

from obsbox.deploy.operations.facts import UnitState


def test_deploy_unit_state_active_and_enabled() -> None:
    """systemctl's answers for a running, enabled unit give (True, True)."""
    assert UnitState().process(["active=active", "enabled=enabled"]) == (True, True)


def test_deploy_unit_state_unknown_when_systemd_unreachable() -> None:
    """Empty answers (no systemd to ask) read as not running and not enabled."""
    assert UnitState().process(["active=", "enabled="]) == (False, False)


def test_deploy_unit_state_failed_unit_is_not_active() -> None:
    """A failed, disabled unit is neither active nor enabled."""
    assert UnitState().process(["active=failed", "enabled=disabled"]) == (False, False)
