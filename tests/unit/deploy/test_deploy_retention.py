"""Issue 8 item 9: Prometheus keeps at least the SLO period; the default follows slos.yaml (pure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from obsbox.deploy.plan import plan_for
from obsbox.deploy.settings import InventoryDataError, StackSettings
from obsbox.rules.slo import load_slos


def _rules_dir(tmp_path: Path, period: str) -> Path:
    (tmp_path / "slos.yaml").write_text(
        f"period: {period}\nservices:\n  - job: api\n    availability_target: 0.999\n"
        "    latency_threshold_seconds: 0.5\n    latency_target: 0.99\n"
    )
    return tmp_path


def test_deploy_default_retention_covers_repository_slo_period(make_settings: Callable[..., StackSettings], repo_root: Path) -> None:
    """Without prometheus_retention_time the flag is the shipped SLO period plus the 3d burn window."""
    period = load_slos(repo_root / "alert_rules" / "slos.yaml").period
    assert period == "30d"
    plan = plan_for(make_settings(obsbox_rules_dir=str(repo_root / "alert_rules")), "prometheus")
    assert "--storage.tsdb.retention.time=33d" in plan.unit.exec_start


def test_deploy_default_retention_follows_a_longer_slo_period(make_settings: Callable[..., StackSettings], tmp_path: Path) -> None:
    """A 90-day SLO period gives a 93-day default retention."""
    settings = make_settings(obsbox_rules_dir=str(_rules_dir(tmp_path, "90d")))
    assert settings.prometheus.retention_time == "93d"


def test_deploy_retention_shorter_than_slo_period_refused(make_settings: Callable[..., StackSettings], repo_root: Path) -> None:
    """The old 15d default is refused naming the key, the period and the file it comes from."""
    with pytest.raises(InventoryDataError) as error:
        make_settings(obsbox_rules_dir=str(repo_root / "alert_rules"), prometheus_retention_time="15d")
    message = str(error.value)
    assert message.startswith("prometheus_retention_time: 15d is shorter than the 30d SLO period")
    assert "slos.yaml" in message and "33d" in message


def test_deploy_retention_equal_or_longer_than_period_kept(make_settings: Callable[..., StackSettings], repo_root: Path) -> None:
    """An explicit retention of at least the period (also in mixed units) is used as given."""
    settings = make_settings(obsbox_rules_dir=str(repo_root / "alert_rules"), prometheus_retention_time="4w2d")
    assert settings.prometheus.retention_time == "4w2d"
