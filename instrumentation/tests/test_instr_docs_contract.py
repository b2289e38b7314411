"""docs/instrumentation.md (the page for service teams) agrees with the contract and the settings module."""

from __future__ import annotations

from pathlib import Path

from obsbox_instrumentation import contract, settings
from obsbox_instrumentation.contract_doc import log_fields_table, metrics_table

FRAGMENT = Path(__file__).resolve().parents[2] / "docs" / "instrumentation.md"


def test_readme_metrics_table_is_generated_from_contract() -> None:
    """The README's metric table is exactly the one rendered from contract.METRICS."""
    assert metrics_table() in FRAGMENT.read_text()


def test_readme_log_fields_table_is_generated_from_contract() -> None:
    """The README's log field table is exactly the one rendered from contract.LOG_FIELDS."""
    assert log_fields_table() in FRAGMENT.read_text()


def test_readme_documents_every_obsbox_variable() -> None:
    """Every OBSBOX_* name declared in settings.py appears in the README's settings table."""
    text = FRAGMENT.read_text()
    names = [v for k, v in vars(settings).items() if k.startswith("OBSBOX_") and isinstance(v, str)]
    assert len(names) >= 15
    missing = [n for n in names if f"`{n}`" not in text]
    assert missing == []


def test_metrics_table_lists_every_contract_metric() -> None:
    """Each declared metric has one row carrying its Prometheus name and labels."""
    rows = metrics_table().splitlines()[2:]
    assert len(rows) == len(contract.METRICS)
    for spec, row in zip(contract.METRICS, rows):
        assert f"`{spec.prometheus_name}`" in row
        assert all(f"`{label}`" in row for label in spec.labels)
