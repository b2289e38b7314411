"""The comparison's corpus rewrite and table (pure parts of obsbox.rules.compare)."""

from __future__ import annotations

import pytest

from obsbox.rules.compare import severity_manifest, table


def test_rules_compare_rewrites_named_alert_to_severity() -> None:
    """An expectation naming an alert becomes one on that alert's severity, keeping shared labels only."""
    manifest = {
        "name": "disk-filling",
        "kind": "incident",
        "expect": {
            "fire": [
                {
                    "alert": "HostDiskWillFillIn4h",
                    "within": "90m",
                    "labels": {"host": "db-1", "mountpoint": "/var"},
                }
            ]
        },
    }
    out = severity_manifest(manifest, {"HostDiskWillFillIn4h": "critical"})
    assert out["expect"]["fire"] == [
        {"within": "90m", "severity": "critical", "labels": {"mountpoint": "/var"}}
    ]
    assert manifest["expect"]["fire"][0]["alert"] == "HostDiskWillFillIn4h"  # the input is left alone


def test_rules_compare_refuses_unknown_alert() -> None:
    """A manifest expecting an alert no shipped rule defines is an error, not a silent pass."""
    with pytest.raises(ValueError, match="NoSuchAlert"):
        severity_manifest({"name": "x", "expect": {"fire": [{"alert": "NoSuchAlert", "within": "5m"}]}}, {})


def test_rules_compare_table_has_one_row_per_rule_set() -> None:
    """The table shows each rule set's summary, durations in minutes and hours."""
    summary = {
        "caught": 3,
        "windows": 4,
        "recall": 0.75,
        "precision": 0.5,
        "noise_pages": 2,
        "failures": ["a"],
        "detection_time_s": {"median": 300.0, "max": 7260.0},
        "reset_time_s": {"median": -60.0, "max": None},
    }
    report = {
        "summary": summary,
        "recordings": [
            {
                "episodes": [
                    {"labels": {"alertname": "Watchdog"}, "relevant": False},
                    {"labels": {"alertname": "A"}, "relevant": True},
                ]
            }
        ],
    }
    text = table({"mine": report})
    assert "| mine | 3 of 4 | 0.75 | 0.50 | 1.00 | 2 | 1 | 5m / 2h01m | -1m / — |" in text
