"""Test tiers by directory: unit=1, local=2, validators=3, hosts=4 (docs/architecture.md, Test tiers)."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest

from obsbox.replay.prometheus import PROMETHEUS_ENV, PROMTOOL_ENV
from tests.engines import ENGINE_IDS, ENGINE_NAMES, Engine, resolve_engine

TIER_BY_DIR = {"unit": "tier1", "local": "tier2", "validators": "tier3", "hosts": "tier4"}
REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Tests that start a Prometheus, Alertmanager, node_exporter or collector by name run the
    deploy's pinned builds (`make setup` makes them): those directories go first on PATH. Tests of
    the rule tester's second engine version name Debian's /usr/bin binaries explicitly."""
    from obsbox.binaries.catalog import catalog
    from obsbox.binaries.locate import build_dir

    dirs = [str(build_dir(spec)) for spec in catalog() if build_dir(spec).is_dir()]
    os.environ["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", "")])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(REPO_ROOT).parts
        if parts[0] == "instrumentation":
            # instrumentation/tests holds the package's own unit tests (in-memory exporters)
            item.add_marker(pytest.mark.tier1)
            continue
        if len(parts) > 1 and parts[1] in TIER_BY_DIR:
            item.add_marker(getattr(pytest.mark, TIER_BY_DIR[parts[1]]))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# Tool -> the deploy component whose pinned version it must report.
_PINNED_COMPONENT = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "alertmanager": "alertmanager",
    "amtool": "alertmanager",
    "node_exporter": "node_exporter",
    "otelcol": "otelcol",
    "victoriametrics": "victoriametrics",
}


def pinned_version(tool: str) -> str:
    """The version the deploy pins for the component that ships ``tool`` (promtool -> 3.5.0)."""
    from obsbox.binaries.catalog import pinned_versions

    return pinned_versions()[_PINNED_COMPONENT[tool]]


def reported_version(path: str) -> str:
    """The version an executable reports with --version ("promtool, version 3.5.0 (...)";
    VictoriaMetrics: "victoria-metrics-<build>-tags-v1.151.0")."""
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"(?:version |tags-)(v?[0-9][^\s,]*)", proc.stdout + proc.stderr)
    assert match, f"{path} --version printed no version: {proc.stdout + proc.stderr!r}"
    return match.group(1).removeprefix("v")


@pytest.fixture(scope="session")
def pinned_tool() -> Callable[[str], str]:
    """pinned_tool("promtool") -> obsbox's build at the deploy's pinned version, checked by --version.

    Fails (never skips) when the build is missing: `make setup` builds the four releases, so a
    missing one is a broken set-up, not something this machine lacks.
    """
    from obsbox.binaries.locate import built

    def find(tool: str) -> str:
        path = built(tool)
        if path is None:
            pytest.fail(f"obsbox's pinned build of {tool} is missing: run `make setup` (it runs `obsbox binaries build`)")
        version = reported_version(str(path))
        assert version == pinned_version(tool), f"{path} reports {version}, the deploy pins {pinned_version(tool)}"
        return str(path)

    return find


# What the multi-host inventory reads from the environment of the machine running pyinfra.
INVENTORY_SECRETS = {
    "OBSBOX_PROMETHEUS_PASSWORD": "prom-secret",
    "OBSBOX_ALERTMANAGER_PASSWORD": "am-secret",
    "OBSBOX_NODE_EXPORTER_PASSWORD": "node-secret",
    "OBSBOX_OTLP_TOKEN": "otlp-token-0123456789",
}


def _inventory_hosts(name: str, secrets: dict[str, str] | None = None) -> dict[str, dict]:
    """{address: data} of every host in one of deploy/inventories/*.py, loaded as pyinfra would on a
    machine whose environment carries `secrets` (default: every secret the inventories read)."""
    env = {k: v for k, v in os.environ.items() if k not in INVENTORY_SECRETS}
    env.update(INVENTORY_SECRETS if secrets is None else secrets)
    with mock.patch.dict(os.environ, env, clear=True):
        module = runpy.run_path(str(REPO_ROOT / "deploy" / "inventories" / name))
    hosts: dict[str, dict] = {}
    for value in module.values():
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict):
                    hosts[entry[0]] = entry[1]
    return hosts


@pytest.fixture(scope="session")
def inventory_hosts() -> Callable[..., dict[str, dict]]:
    """Reads an example inventory: ``inventory_hosts("all_in_one.py")`` gives {address: data}."""
    return _inventory_hosts


@pytest.fixture(params=ENGINE_NAMES, ids=ENGINE_IDS)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Each engine version in turn: obsbox's engine runs on its prometheus and promtool (through
    OBSBOX_PROMETHEUS / OBSBOX_PROMTOOL, as `--prometheus` does), and its promtool is the judge."""
    chosen = resolve_engine(request.param)
    monkeypatch.setenv(PROMETHEUS_ENV, chosen.prometheus)
    monkeypatch.setenv(PROMTOOL_ENV, chosen.promtool)
    return chosen


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
