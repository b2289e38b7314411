"""Upstream release files: archive name, checksum file, and where to fetch them (pure).

File names were checked against the upstream release pages: Prometheus, Alertmanager and
node_exporter publish ``<name>-<V>.linux-<arch>.tar.gz`` with ``sha256sums.txt``; Tempo
``tempo_<V>_linux_<arch>.tar.gz`` with ``SHA256SUMS``; Loki ``loki-linux-<arch>.zip`` (no version
in the name, so the cache directory carries it) with ``SHA256SUMS``; the collector
``<distribution>_<V>_linux_<arch>.tar.gz`` (``otelcol-contrib`` upstream, or obsbox's own
``otelcol-obsbox`` served from a mirror) with a goreleaser checksum file whose name changed over
time (override with ``otelcol_checksums_file``); Grafana 12+ tarballs carry a build id, so
their URL and sha256 come from grafana.com's downloads API or from inventory data.
"""

from __future__ import annotations

import json
import shlex
import urllib.request
from dataclasses import dataclass

from obsbox.binaries.catalog import victoriametrics_archive_name, victoriametrics_checksums_name
from obsbox.deploy.settings import InventoryDataError, StackSettings

GITHUB = "https://github.com"
_UPSTREAM_DIRS = {
    "prometheus": f"{GITHUB}/prometheus/prometheus/releases/download/v{{version}}",
    "alertmanager": f"{GITHUB}/prometheus/alertmanager/releases/download/v{{version}}",
    "node_exporter": f"{GITHUB}/prometheus/node_exporter/releases/download/v{{version}}",
    "loki": f"{GITHUB}/grafana/loki/releases/download/v{{version}}",
    "tempo": f"{GITHUB}/grafana/tempo/releases/download/v{{version}}",
    "otelcol": f"{GITHUB}/open-telemetry/opentelemetry-collector-releases/releases/download/v{{version}}",
    "victoriametrics": f"{GITHUB}/VictoriaMetrics/VictoriaMetrics/releases/download/v{{version}}",
}
GRAFANA_DOWNLOADS_API = "https://grafana.com/api/downloads/grafana/versions/{version}/packages/{arch}/linux"
# Until the collector's release tooling changed, the contrib checksum file carried the
# repository and distribution name.
OTELCOL_LEGACY_CHECKSUMS = "opentelemetry-collector-releases_otelcol-contrib_checksums.txt"
OTELCOL_CHECKSUMS = "checksums.txt"


@dataclass(frozen=True)
class Release:
    component: str
    version: str
    filename: str
    url: str
    # Empty when only a pinned sha256 verifies the archive (Grafana).
    checksums_filename: str
    checksums_url: str
    pinned_sha256: str
    kind: str  # "tar" or "zip"
    strip_components: int


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split("+")[0].split("."))


def otelcol_checksums_name(version: str) -> str:
    return OTELCOL_LEGACY_CHECKSUMS if _version_tuple(version) < (0, 158, 0) else OTELCOL_CHECKSUMS


def _directory(settings: StackSettings, component: str) -> str:
    install = settings.install[component]
    if install.artifact_base_url:
        return install.artifact_base_url.replace("{version}", install.version)
    if settings.artifact_base_url:
        return f"{settings.artifact_base_url}/{component}/{install.version}"
    return _UPSTREAM_DIRS[component].format(version=install.version)


def release_for(settings: StackSettings, component: str) -> Release:
    """The archive to fetch for one component, without network access (Grafana needs a pin)."""
    install = settings.install[component]
    version, arch = install.version, settings.arch
    if component == "grafana":
        return _grafana_release(settings, resolved=None)
    names = {
        "prometheus": (f"prometheus-{version}.linux-{arch}.tar.gz", "sha256sums.txt", "tar", 1),
        "alertmanager": (f"alertmanager-{version}.linux-{arch}.tar.gz", "sha256sums.txt", "tar", 1),
        "node_exporter": (f"node_exporter-{version}.linux-{arch}.tar.gz", "sha256sums.txt", "tar", 1),
        "tempo": (f"tempo_{version}_linux_{arch}.tar.gz", "SHA256SUMS", "tar", 0),
        "loki": (f"loki-linux-{arch}.zip", "SHA256SUMS", "zip", 0),
        # victoria-metrics-prod at the top of the archive, one checksum file per archive.
        "victoriametrics": (
            victoriametrics_archive_name(version, arch),
            victoriametrics_checksums_name(version, arch),
            "tar",
            0,
        ),
        "otelcol": (
            f"{settings.otelcol_distribution}_{version}_linux_{arch}.tar.gz",
            settings.otelcol_checksums_file or otelcol_checksums_name(version),
            "tar",
            0,
        ),
    }
    filename, checksums, kind, strip = names[component]
    directory = _directory(settings, component)
    return Release(
        component=component,
        version=version,
        filename=filename,
        url=f"{directory}/{filename}",
        checksums_filename=checksums,
        checksums_url=f"{directory}/{checksums}",
        pinned_sha256=install.archive_sha256,
        kind=kind,
        strip_components=strip,
    )


def _grafana_release(settings: StackSettings, resolved: tuple[str, str] | None) -> Release:
    install = settings.install["grafana"]
    url, sha = settings.grafana_archive_url, install.archive_sha256
    if resolved is not None:
        url, sha = resolved
    if not url or not sha:
        raise InventoryDataError(
            "grafana_archive_url/grafana_archive_sha256: Grafana 12+ archive names carry a build id; "
            "pin both (see grafana.com/grafana/download) or let resolve_grafana_release() ask the API"
        )
    return Release(
        component="grafana",
        version=install.version,
        filename=url.rsplit("/", 1)[1],
        url=url,
        checksums_filename="",
        checksums_url="",
        pinned_sha256=sha,
        kind="tar",
        strip_components=1,
    )


def resolve_grafana_release(
    settings: StackSettings, timeout: float = 20.0, api_template: str = GRAFANA_DOWNLOADS_API
) -> Release:
    """Grafana's archive, from inventory pins or else from grafana.com's downloads API."""
    install = settings.install["grafana"]
    if settings.grafana_archive_url or settings.artifact_base_url:
        # A mirror cannot be asked for the build id: the pins are required there.
        return _grafana_release(settings, resolved=None)
    api = api_template.format(version=install.version, arch=settings.arch)
    try:
        with urllib.request.urlopen(api, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            payload = json.load(response)
    except OSError as error:
        raise InventoryDataError(
            f"grafana_archive_url: not set, and {api} could not be read ({error}); pin "
            "grafana_archive_url and grafana_archive_sha256 for hosts without internet"
        ) from error
    try:
        url, sha = str(payload["url"]), str(payload["sha256"]).lower()
    except (KeyError, TypeError) as error:
        raise InventoryDataError(f"grafana downloads API {api}: answer has no url/sha256") from error
    if install.archive_sha256 and install.archive_sha256 != sha:
        raise InventoryDataError(
            f"grafana_archive_sha256: pinned {install.archive_sha256} but grafana.com lists {sha} for {url}"
        )
    return _grafana_release(settings, resolved=(url, sha))


def verify_command(release: Release, cache_dir: str) -> str:
    """Shell that checks the archive against its release checksum file and the optional pin."""
    name = shlex.quote(release.filename)
    steps = [f"cd {shlex.quote(cache_dir)}"]
    if release.checksums_filename:
        sums = shlex.quote(release.checksums_filename)
        # The checksum file lists every platform; pick our file's line (goreleaser may prefix '*').
        steps.append(
            f"awk -v f={name} '$2 == f || $2 == \"*\" f {{print $1 \"  \" f}}' {sums} > {name}.sha256"
        )
        steps.append(
            f"{{ test -s {name}.sha256 || {{ echo 'obsbox: {release.filename} is not listed in "
            f"{release.checksums_filename} of {release.component} {release.version}' >&2; exit 1; }}; }}"
        )
        steps.append(f"sha256sum -c {name}.sha256")
    if release.pinned_sha256:
        steps.append(f"echo {release.pinned_sha256}'  '{name} | sha256sum -c -")
    check = " && ".join(steps)
    # A file that fails verification is removed, so the next run downloads it again.
    return f"( {check} ) || {{ rm -f {shlex.quote(cache_dir)}/{name}; exit 1; }}"


def extract_command(release: Release, archive: str, dest: str) -> str:
    """Shell that unpacks the archive into dest atomically (a half-extracted dir never counts)."""
    tmp = shlex.quote(f"{dest}.partial")
    quoted_dest, quoted_archive = shlex.quote(dest), shlex.quote(archive)
    if release.kind == "zip":
        unpack = f"unzip -q -o {quoted_archive} -d {tmp}"
    else:
        strip = f" --strip-components={release.strip_components}" if release.strip_components else ""
        unpack = f"tar -xzf {quoted_archive} -C {tmp} --no-same-owner{strip}"
    return (
        f"rm -rf {tmp} && mkdir -p {tmp} && {unpack} && chmod -R go-w {tmp} "
        f"&& rm -rf {quoted_dest} && mv {tmp} {quoted_dest}"
    )
