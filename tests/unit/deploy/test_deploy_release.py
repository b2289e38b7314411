"""Release file names and URLs, upstream and mirrored (pure)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from obsbox.deploy.release import release_for, resolve_grafana_release
from obsbox.deploy.settings import InventoryDataError, StackSettings


def test_deploy_release_prometheus_family_names(make_settings: Callable[..., StackSettings]) -> None:
    """Prometheus, Alertmanager and node_exporter use name-V.linux-arch.tar.gz with sha256sums.txt."""
    settings = make_settings(prometheus_version="2.53.1", obsbox_arch="arm64")
    release = release_for(settings, "prometheus")
    assert release.url == (
        "https://github.com/prometheus/prometheus/releases/download/v2.53.1/prometheus-2.53.1.linux-arm64.tar.gz"
    )
    assert release.checksums_url.endswith("/v2.53.1/sha256sums.txt")
    assert release.strip_components == 1
    assert release_for(settings, "node_exporter").filename.startswith("node_exporter-")


def test_deploy_release_loki_zip_without_version(make_settings: Callable[..., StackSettings]) -> None:
    """Loki's archive is loki-linux-arch.zip under the version's release, checked by SHA256SUMS."""
    release = release_for(make_settings(loki_version="3.5.3"), "loki")
    assert (release.filename, release.kind, release.checksums_filename) == ("loki-linux-amd64.zip", "zip", "SHA256SUMS")
    assert "/v3.5.3/" in release.url


def test_deploy_release_tempo_names(make_settings: Callable[..., StackSettings]) -> None:
    """Tempo's archive is tempo_V_linux_arch.tar.gz with SHA256SUMS, files at the top level."""
    release = release_for(make_settings(tempo_version="2.8.2"), "tempo")
    assert (release.filename, release.checksums_filename, release.strip_components) == (
        "tempo_2.8.2_linux_amd64.tar.gz",
        "SHA256SUMS",
        0,
    )


def test_deploy_release_otelcol_checksum_file_by_version(make_settings: Callable[..., StackSettings]) -> None:
    """The collector's checksum file name follows its version, and an explicit name wins."""
    old = release_for(make_settings(otelcol_version="0.135.0"), "otelcol")
    new = release_for(make_settings(otelcol_version="0.160.0"), "otelcol")
    pinned = release_for(make_settings(otelcol_checksums_file="sums.txt"), "otelcol")
    assert old.checksums_filename == "opentelemetry-collector-releases_otelcol-contrib_checksums.txt"
    assert new.checksums_filename == "checksums.txt"
    assert pinned.checksums_filename == "sums.txt"
    assert old.filename == "otelcol-contrib_0.135.0_linux_amd64.tar.gz"


def test_deploy_release_mirror_layout(make_settings: Callable[..., StackSettings]) -> None:
    """obsbox_artifact_base_url serves {base}/{component}/{version}/{file} for archive and checksums."""
    release = release_for(
        make_settings(obsbox_artifact_base_url="http://10.9.0.1:8000/", prometheus_version="2.42.0"), "prometheus"
    )
    assert release.url == "http://10.9.0.1:8000/prometheus/2.42.0/prometheus-2.42.0.linux-amd64.tar.gz"
    assert release.checksums_url == "http://10.9.0.1:8000/prometheus/2.42.0/sha256sums.txt"


def test_deploy_release_component_base_url_wins(make_settings: Callable[..., StackSettings]) -> None:
    """A component's own artifact_base_url (with {version}) overrides the stack-wide mirror."""
    settings = make_settings(
        obsbox_artifact_base_url="http://mirror", loki_artifact_base_url="http://other/loki/v{version}"
    )
    assert release_for(settings, "loki").url == "http://other/loki/v3.5.3/loki-linux-amd64.zip"


def test_deploy_release_pinned_sha_is_carried(make_settings: Callable[..., StackSettings]) -> None:
    """An inventory sha256 pin is part of the release to verify."""
    sha = "ab" * 32
    assert release_for(make_settings(tempo_archive_sha256=sha.upper()), "tempo").pinned_sha256 == sha


def test_deploy_release_grafana_from_pins(make_settings: Callable[..., StackSettings]) -> None:
    """Grafana's archive comes from the pinned URL and sha256 without asking the API."""
    url = "https://dl.grafana.com/grafana/release/12.1.1/grafana_12.1.1_16903967602_linux_amd64.tar.gz"
    release = resolve_grafana_release(make_settings(grafana_archive_url=url, grafana_archive_sha256="cd" * 32))
    assert (release.url, release.pinned_sha256, release.checksums_url) == (url, "cd" * 32, "")
    assert release.filename == "grafana_12.1.1_16903967602_linux_amd64.tar.gz"


def test_deploy_release_grafana_mirror_needs_pins(make_settings: Callable[..., StackSettings]) -> None:
    """Behind a mirror, Grafana without pinned URL and sha256 is an error, not a call to grafana.com."""
    with pytest.raises(InventoryDataError, match="pin both"):
        resolve_grafana_release(make_settings(obsbox_artifact_base_url="http://mirror"))
