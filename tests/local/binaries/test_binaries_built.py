"""The releases `make setup` built from Go modules: the pinned versions, packed as upstream packs them."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from examples.procs import ManagedProcess, free_port
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
    # VictoriaMetrics prints its build tag: victoria-metrics-...-tags-v1.151.0.
    assert re.search(rf"(version |tags-)v?{re.escape(spec.version)}\b", out), out


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


def _get(url: str) -> tuple[int, str, str]:
    """(status, content type, body), errors included: a UI-less build answers 500 "Error opening React index.html"."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode(errors="replace")


def test_built_prometheus_serves_its_web_ui(tmp_path: Path) -> None:
    """The UI is embedded as in the official release: /query and /alerts answer 200 with the HTML page."""
    binary = _built(SPECS["prometheus"], "prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    port = free_port()
    proc = ManagedProcess(
        "prometheus",
        [str(binary), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        dict(os.environ),
        tmp_path / "prometheus.log",
    ).start()
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30)
        for page in ("/query", "/alerts"):
            status, content_type, body = _get(f"http://127.0.0.1:{port}{page}")
            assert status == 200, (page, body[:500])
            assert content_type.startswith("text/html"), (page, content_type)
            assert "<html" in body.lower() and 'id="root"' in body, (page, body[:500])
            assert "TITLE_PLACEHOLDER" not in body and "<title>Prometheus" in body, (page, body[:1000])
        # The page's own script is served too (from the embedded, gzipped assets).
        _, _, index = _get(f"http://127.0.0.1:{port}/query")
        asset = re.search(r'src="(?:\./)?([^"]+\.js)"', index)
        assert asset is not None, index[:1000]
        status, content_type, _ = _get(f"http://127.0.0.1:{port}/{asset.group(1).lstrip('/')}")
        assert status == 200 and "javascript" in content_type, (asset.group(1), status, content_type)
    finally:
        proc.stop(timeout=10)


def test_built_prometheus_archive_carries_the_npm_licenses() -> None:
    """As upstream's release: npm_licenses.tar.bz2 holds the licenses of the UI's npm dependencies."""
    spec = SPECS["prometheus"]
    archive, _ = release_paths(spec)
    with tarfile.open(archive) as outer:
        inner = outer.extractfile(f"{spec.archive_top_dir}/npm_licenses.tar.bz2")
        assert inner is not None
        with tarfile.open(fileobj=inner, mode="r:bz2") as licenses:
            names = licenses.getnames()
    assert any(name.startswith("npm_licenses/web/ui/node_modules/") for name in names), names[:5]
    assert any("/@mantine/core/" in name.lower() or "/react/license" in name.lower() for name in names), names[:20]
