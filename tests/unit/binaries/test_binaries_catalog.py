"""What obsbox builds from Go modules, and how it is packed (pure, no Go run)."""

from __future__ import annotations

import hashlib
import runpy
import shutil
import tarfile
from pathlib import Path

import pytest

from obsbox.binaries.build import pack_release
from obsbox.binaries.catalog import (
    COLLECTOR_DISTRIBUTION,
    COLLECTOR_DISTRIBUTION_DIR,
    BinarySpec,
    build_key,
    catalog,
    prometheus_module_version,
    spec_for,
)
from obsbox.deploy.layout import ARCHIVE_BINARIES
from obsbox.deploy.release import release_for
from obsbox.deploy.settings import settings_from_host_data


@pytest.mark.parametrize(("version", "module"), [("3.5.0", "v0.305.0"), ("3.16.2", "v0.316.2"), ("4.0.1", "v0.400.1")])
def test_prometheus_release_maps_to_module_version(version: str, module: str) -> None:
    """Prometheus 3.X.Y is the Go module version v0.3XX.Y."""
    assert prometheus_module_version(version) == module


def test_prometheus_2_has_no_module_version() -> None:
    """A 2.x pin is refused with a reason instead of building some other version."""
    with pytest.raises(ValueError, match="only 3.x"):
        prometheus_module_version("2.42.0")


def test_catalog_builds_every_version_the_deploy_pins(repo_root: Path) -> None:
    """The versions built are exactly the pins in deploy/group_data/all.py."""
    pins = runpy.run_path(str(repo_root / "deploy" / "group_data" / "all.py"))
    for spec in catalog():
        assert spec.version == pins[f"{spec.component}_version"], spec.component


def test_catalog_archives_are_what_the_deploy_fetches() -> None:
    """Each built archive, checksum file and executable is what the deploy asks a mirror for."""
    settings = settings_from_host_data(
        {
            "obsbox_artifact_base_url": "http://mirror.test",
            "otelcol_distribution": COLLECTOR_DISTRIBUTION,
            "alertmanager_allow_no_receivers": True,
        }
    )
    for spec in catalog():
        release = release_for(settings, spec.component)
        assert release.url == f"http://mirror.test/{spec.component}/{spec.version}/{spec.archive_name}"
        assert release.checksums_filename == spec.checksums_name
        # The deploy strips the archive's top directory, if any, and runs these paths inside it.
        assert release.strip_components == (1 if spec.archive_top_dir else 0)
        expected = {path.format(arch="amd64", distribution=COLLECTOR_DISTRIBUTION) for path in ARCHIVE_BINARIES[spec.component].values()}
        assert expected <= {name for name, _ in spec.binaries}, spec.component


def _unpack(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_pack_release_uses_upstream_layout_and_checksum_format(tmp_path: Path) -> None:
    """prometheus-V.linux-amd64/ holds the executables; sha256sums.txt has "<sha256>  <name>"."""
    exe = tmp_path / "prometheus"
    exe.write_bytes(b"\x7fELF fake")
    spec = spec_for("prometheus")
    archive = tmp_path / "out" / spec.archive_name
    digest = pack_release(spec, [("prometheus", exe, 0o755), ("promtool", exe, 0o755)], archive)
    members = _unpack(archive)
    top = f"prometheus-{spec.version}.linux-amd64"
    assert set(members) == {top, f"{top}/prometheus", f"{top}/promtool"}
    assert members[f"{top}/prometheus"].mode == 0o755
    assert digest == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (archive.parent / "sha256sums.txt").read_text() == f"{digest}  {spec.archive_name}\n"


def test_pack_release_collector_files_at_top_level(tmp_path: Path) -> None:
    """The collector's archive has its executable at the top and a goreleaser checksums.txt."""
    exe = tmp_path / COLLECTOR_DISTRIBUTION
    exe.write_bytes(b"\x7fELF fake")
    spec = spec_for("otelcol")
    archive = tmp_path / spec.archive_name
    pack_release(spec, [(COLLECTOR_DISTRIBUTION, exe, 0o755)], archive)
    assert set(_unpack(archive)) == {COLLECTOR_DISTRIBUTION}
    assert (tmp_path / "checksums.txt").is_file()


def test_pack_release_is_reproducible(tmp_path: Path) -> None:
    """The same executables always give the same archive bytes (fixed times and owners)."""
    exe = tmp_path / "node_exporter"
    exe.write_bytes(b"\x7fELF fake")
    spec = spec_for("node_exporter")
    first = pack_release(spec, [("node_exporter", exe, 0o755)], tmp_path / "a" / spec.archive_name)
    exe.touch()
    second = pack_release(spec, [("node_exporter", exe, 0o755)], tmp_path / "b" / spec.archive_name)
    assert first == second


def test_build_key_follows_the_distribution_sources(tmp_path: Path) -> None:
    """Editing the collector's manifest or generated sources means building again."""
    copy = tmp_path / "otelcol-obsbox"
    shutil.copytree(COLLECTOR_DISTRIBUTION_DIR, copy)
    base = spec_for("otelcol")
    spec = BinarySpec(**{**base.__dict__, "local_dir": copy})
    before = build_key(spec, "go1.26.8")
    assert build_key(spec, "go1.26.8") == before
    (copy / "manifest.yaml").write_text((copy / "manifest.yaml").read_text() + "\n# changed\n")
    assert build_key(spec, "go1.26.8") != before
    assert build_key(spec_for("prometheus"), "go1.26.8") != build_key(spec_for("prometheus"), "go1.27.0")


def test_collector_manifest_matches_the_rendered_configs(repo_root: Path) -> None:
    """Every component type the rendered collector configs name is in the distribution's manifest."""
    import yaml

    from obsbox.render.otelcol import OtelcolSettings, render_otelcol_config

    manifest = yaml.safe_load((COLLECTOR_DISTRIBUTION_DIR / "manifest.yaml").read_text())
    modules = " ".join(entry["gomod"] for kind in ("receivers", "processors", "exporters", "extensions") for entry in manifest[kind])
    config = yaml.safe_load(render_otelcol_config(OtelcolSettings(debug_endpoints=True)))
    for kind in ("receivers", "processors", "exporters", "extensions"):
        for name in config[kind]:
            component_type = name.split("/")[0]
            module_word = {"otlp": "otlp", "otlphttp": "otlphttpexporter", "memory_limiter": "memorylimiter",
                           "health_check": "healthcheck", "file_storage": "filestorage"}.get(component_type, component_type)
            assert module_word in modules, f"{kind} {name}: no module for it in the manifest"
