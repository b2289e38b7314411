"""`obsbox rules compare` end to end: two real replays (the pinned Prometheus) on a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from obsbox.cli import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "replay"
NAIVE = """groups:
  - name: naive
    interval: 30s
    rules:
      - alert: AnyError
        expr: sum(rate(http_requests_total{code="503"}[1m])) > 0
        labels:
          severity: critical
"""


def test_rules_compare_tabulates_both_rule_sets(tmp_path: Path) -> None:
    """The table has one row per rule set with the replay's own scores; failures are listed under it."""
    naive = tmp_path / "naive.rules.yaml"
    naive.write_text(NAIVE)
    result = CliRunner().invoke(
        app,
        [
            "rules", "compare", "--rules-dir", str(FIXTURES / "rules"), "--naive", str(naive),
            "--incidents", str(FIXTURES / "corpus"), "--json-dir", str(tmp_path / "reports"),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| shipped") or line.startswith("| naive")]
    assert len(rows) == 2
    assert "| 1 of 1 | 1.00 |" in rows[0] and "| 0 of 1 | 0.00 |" in rows[1]
    naive_report = json.loads((tmp_path / "reports" / "naive.json").read_text())
    assert naive_report["summary"]["noise_pages"] == 1
    assert "quiet-night: AnyError (severity critical) fired" in result.stdout
