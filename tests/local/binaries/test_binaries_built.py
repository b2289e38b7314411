"""The releases `make setup` built from Go modules: the pinned versions, packed as upstream packs them."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from obsbox.binaries.build import release_paths
from obsbox.binaries.catalog import COLLECTOR_DISTRIBUTION, COLLECTOR_DISTRIBUTION_DIR, BinarySpec, catalog
from obsbox.binaries.locate import build_dir

SPECS = {spec.component: spec for spec in catalog()}
EXECUTABLES = [(spec.component, name) for spec in catalog() for name, _ in spec.binaries]


def _built(spec: BinarySpec, name: str) -> Path:
    path = build_dir(spec) / name
    assert path.is_file(), f"{path} is missing: `make setup` builds it (obsbox binaries build)"
    return path


@pytest.mark.parametrize(("component", "name"), EXECUTABLES)
def test_built_executable_reports_the_pinned_version(component: str, name: str) -> None:
    """Each executable says the version the deploy pins, as the official release's would."""
    spec = SPECS[component]
    proc = subprocess.run([str(_built(spec, name)), "--version"], capture_output=True, text=True, timeout=30, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert re.search(rf"version v?{re.escape(spec.version)}\b", out), out


@pytest.mark.parametrize(("component", "name"), EXECUTABLES)
def test_built_executable_is_static(component: str, name: str) -> None:
    """No dynamic loader: the executables run unchanged on minimal hosts, like the official ones."""
    data = _built(SPECS[component], name).read_bytes()[:4096]
    assert data[:4] == b"\x7fELF"
    assert b"/lib64/ld-linux" not in data and b"/lib/ld-linux" not in data


@pytest.mark.parametrize("component", list(SPECS))
def test_cached_archive_matches_its_checksum_file_and_the_build(component: str) -> None:
    """The archive a mirror serves verifies against its checksum file and holds the built executables."""
    spec = SPECS[component]
    archive, sums = release_paths(spec)
    digest, name = sums.read_text().split()
    assert name == archive.name
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest
    with tarfile.open(archive) as tar:
        for executable, _ in spec.binaries:
            member = f"{spec.archive_top_dir}/{executable}" if spec.archive_top_dir else executable
            extracted = tar.extractfile(member)
            assert extracted is not None
            assert extracted.read() == _built(spec, executable).read_bytes()


def test_collector_holds_exactly_the_manifest_components() -> None:
    """`otelcol-obsbox components` lists the manifest's receivers, processors, exporters and extensions."""
    binary = _built(SPECS["otelcol"], COLLECTOR_DISTRIBUTION)
    proc = subprocess.run([str(binary), "components"], capture_output=True, text=True, timeout=30, check=True)
    listed = yaml.safe_load(proc.stdout)
    manifest = yaml.safe_load((COLLECTOR_DISTRIBUTION_DIR / "manifest.yaml").read_text())
    for kind in ("receivers", "processors", "exporters", "extensions"):
        names = {entry["name"] for entry in listed.get(kind) or []}
        modules = [entry["gomod"].split()[0].rsplit("/", 1)[-1] for entry in manifest[kind]]
        assert len(names) == len(modules), (kind, names, modules)
