"""Tenant cap: at most N admitted values plus __other__, also when shared by several processes."""

from __future__ import annotations

from pathlib import Path

from obsbox_instrumentation.contract import TENANT_NONE, TENANT_OTHER
from obsbox_instrumentation.tenant import TenantCap, current_tenant, tenant_context


def test_thousand_tenants_fold_into_n_plus_one_values() -> None:
    """1,000 tenants produce at most N admitted values plus __other__."""
    cap = TenantCap(top_n=20)
    values = {cap.label(f"t{i}") for i in range(1000) for _ in range(2)}
    assert len(values) == 21
    assert TENANT_OTHER in values


def test_admitted_tenants_keep_their_value() -> None:
    """A tenant admitted early keeps its own label value after the cap is full."""
    cap = TenantCap(top_n=2)
    assert cap.label("big") == "big"
    for i in range(50):
        cap.label(f"x{i}")
    assert cap.label("big") == "big"
    assert cap.label("x49") == TENANT_OTHER


def test_admit_after_requires_traffic_before_a_slot() -> None:
    """With admit_after=3 a tenant folds into __other__ until its third request."""
    cap = TenantCap(top_n=5, admit_after=3)
    assert [cap.label("a") for _ in range(4)] == [TENANT_OTHER, TENANT_OTHER, "a", "a"]


def test_missing_tenant_is_none_value() -> None:
    """A request without a tenant gets __none__, not a slot."""
    assert TenantCap(top_n=1).label(None) == TENANT_NONE


def test_cap_is_shared_across_processes_through_the_directory(tmp_path: Path) -> None:
    """Two workers sharing the multiprocess directory admit N tenants in total, not 2N."""
    worker_a = TenantCap(top_n=5, directory=str(tmp_path))
    worker_b = TenantCap(top_n=5, directory=str(tmp_path))
    seen = set()
    for i in range(500):
        seen.add(worker_a.label(f"a{i}"))
        seen.add(worker_b.label(f"b{i}"))
    assert len(seen - {TENANT_OTHER}) == 5
    assert worker_a.admitted() == worker_b.admitted()


def test_tenant_context_sets_and_restores_baggage() -> None:
    """tenant_context puts tenant.id in baggage for the block only."""
    assert current_tenant() is None
    with tenant_context("acme"):
        assert current_tenant() == "acme"
    assert current_tenant() is None
