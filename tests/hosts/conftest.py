"""Tier 4 fixtures: throwaway systemd hosts (docs/architecture.md, Test tiers), booted once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from obsbox.hosts import Host, demo_app, throwaway_host
from obsbox.hosts.ha_cluster import HaCluster, plan_ha
from obsbox.hosts.ha_cluster import ha_cluster as boot_ha_cluster
from obsbox.hosts.mirror import MIRROR_DIR, build_mirror, serve_mirror
from obsbox.hosts.stack import (
    FAST_ALERTING,
    StackHost,
    converge_stack,
    otlp_http_endpoint,
    plan_stack,
    stack_data,
)
from obsbox.hosts.webhook import webhook_receiver

_NEEDS = ("debootstrap", "unshare", "nsenter", "ip", "nft", "ssh", "ssh-keygen")


def _why_hosts_cannot_exist() -> str | None:
    if os.geteuid() != 0:
        return "throwaway systemd hosts need root (namespaces, veth pairs, debootstrap)"
    missing = [tool for tool in _NEEDS if shutil.which(tool) is None]
    if missing:
        return f"throwaway systemd hosts need {', '.join(missing)} (make setup installs them)"
    return None


def _uses_ha_cluster(item: pytest.Item) -> bool:
    return "ha_cluster" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The HA hosts run after every other host test. Throwaway hosts share this machine's cgroup
    # paths, so while the HA hosts live, the IP allow list their systemd attaches to
    # system.slice/alertmanager.service (the bridge only) also filters the session's stack host's
    # Alertmanager, and its notifications to this machine's veth end are dropped.
    hosts = [i for i, item in enumerate(items) if "tests/hosts/" in str(item.fspath)]
    if hosts:
        block = items[hosts[0] : hosts[-1] + 1]
        items[hosts[0] : hosts[-1] + 1] = [i for i in block if not _uses_ha_cluster(i)] + [
            i for i in block if _uses_ha_cluster(i)
        ]
    reason = _why_hosts_cannot_exist()
    if reason is None:
        return
    for item in items:
        if "tests/hosts/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def booted_host() -> Iterator[Host]:
    """One plain host for the harness tests; removed (PID 1, veth, rootfs) even on failure."""
    with throwaway_host("obsbox-t4-boot") as host:
        yield host


@pytest.fixture(scope="session")
def stack_host(repo_root: Path) -> Iterator[StackHost]:
    """Converge the stack on a fresh host once per session (the expensive part) and tear it all down."""
    versions = build_mirror(MIRROR_DIR)
    examples_sha256 = demo_app.prepare_mirror(MIRROR_DIR, repo_root)
    plan = plan_stack(MIRROR_DIR, versions)
    with ExitStack() as stack:
        host = stack.enter_context(throwaway_host("obsbox-t4-stack"))
        mirror_url = stack.enter_context(serve_mirror(MIRROR_DIR, host.gateway))
        hook_url, inbox = stack.enter_context(webhook_receiver(host.gateway))
        data = stack_data(
            host,
            mirror_url,
            plan,
            webhook_url=hook_url,
            # Prometheus scrapes the demo's RQ worker (the service itself pushes OTLP).
            service_targets=demo_app.service_targets(),
            # Short intervals so an injected fault reaches the webhook in minutes, not tens of them.
            extra=FAST_ALERTING,
        )
        first = converge_stack(host, data)
        assert first.ok, first.output
        # The demo service sends everything over OTLP to the collector the stack just installed.
        demo = demo_app.deploy_demo_app(host, mirror_url, examples_sha256, otlp_endpoint=otlp_http_endpoint())
        assert demo.ok, demo.output
        demo_app.start_load(host, duration_s=900)
        stack.callback(demo_app.stop_load, host)
        yield StackHost(host, mirror_url, data, first, inbox, plan.skipped)


@pytest.fixture(scope="session")
def ha_cluster(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HaCluster]:
    """The HA inventory converged once on six hosts on the bridge (tests/hosts/test_hosts_ha.py);
    every host, the bridge and this machine's listeners are removed afterwards."""
    plan = plan_ha(MIRROR_DIR, build_mirror(MIRROR_DIR))
    with boot_ha_cluster(MIRROR_DIR, plan, tmp_path_factory.mktemp("ha"), repo_root) as cluster:
        yield cluster
