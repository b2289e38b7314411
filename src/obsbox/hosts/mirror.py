"""A local artifact mirror for hosts with no route out, as an air-gapped install would use.

Release-layout archives (`prometheus-2.42.0.linux-amd64.tar.gz` holding
`prometheus-2.42.0.linux-amd64/{prometheus,promtool}`, plus `sha256sums.txt` in the upstream
format) are built from the binaries of this machine's Debian packages, which link only against
libc and so run unchanged on the bookworm minbase hosts. The mirror is served over HTTP on this
machine's end of a host's veth pair, so only that host can reach it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MIRROR_DIR = Path(os.environ.get("OBSBOX_MIRROR_DIR", "/var/cache/obsbox/mirror"))
ARCH = "amd64"


@dataclass(frozen=True)
class ReleaseSpec:
    """One upstream release rebuilt from a Debian package: archive member name -> local binary."""

    name: str  # upstream project and archive prefix: prometheus, alertmanager, node_exporter
    debian_package: str
    binaries: tuple[tuple[str, str], ...]


RELEASES: tuple[ReleaseSpec, ...] = (
    ReleaseSpec("prometheus", "prometheus", (("prometheus", "/usr/bin/prometheus"), ("promtool", "/usr/bin/promtool"))),
    ReleaseSpec(
        "alertmanager",
        "prometheus-alertmanager",
        (("alertmanager", "/usr/bin/prometheus-alertmanager"), ("amtool", "/usr/bin/amtool")),
    ),
    ReleaseSpec("node_exporter", "prometheus-node-exporter", (("node_exporter", "/usr/bin/prometheus-node-exporter"),)),
)


def debian_upstream_version(package: str) -> str:
    """`2.42.0+ds-5+deb12u1` -> `2.42.0`: the upstream release the Debian package was built from."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True
    ).stdout
    version = out.split(":", 1)[-1]
    for sep in ("+", "-", "~"):
        version = version.split(sep, 1)[0]
    return version


def release_dir(name: str, version: str) -> str:
    """Where a release lives under the mirror root: the deploy's `obsbox_artifact_base_url`
    layout, {base}/{component}/{version}/{file} (obsbox.deploy.settings)."""
    return f"{name}/{version}"


def archive_name(name: str, version: str, arch: str = ARCH) -> str:
    return f"{name}-{version}.linux-{arch}.tar.gz"


def _tar_add_file(tar: tarfile.TarFile, arcname: str, source: Path, mode: int) -> None:
    info = tarfile.TarInfo(arcname)
    data = source.read_bytes()
    info.size = len(data)
    info.mode = mode
    # Fixed metadata: the same binaries always give the same archive and checksum.
    info.mtime = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def _tar_add_dir(tar: tarfile.TarFile, arcname: str) -> None:
    info = tarfile.TarInfo(arcname)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 0
    tar.addfile(info)


def build_release(spec: ReleaseSpec, root: Path) -> tuple[str, Path]:
    """Write one release archive and its sha256sums.txt; return (version, archive path)."""
    version = debian_upstream_version(spec.debian_package)
    top = f"{spec.name}-{version}.linux-{ARCH}"
    out_dir = root / release_dir(spec.name, version)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / archive_name(spec.name, version)
    if not archive.exists():
        partial_path = archive.with_suffix(f".partial-{os.getpid()}")
        # gzip with mtime 0 keeps the bytes reproducible too
        with (
            partial_path.open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as tar,
        ):
            _tar_add_dir(tar, top)
            for member, source in spec.binaries:
                _tar_add_file(tar, f"{top}/{member}", Path(source), 0o755)
            copyright_file = Path(f"/usr/share/doc/{spec.debian_package}/copyright")
            if copyright_file.exists():
                _tar_add_file(tar, f"{top}/LICENSE", copyright_file, 0o644)
        partial_path.rename(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    # Upstream format: "<sha256>  <file name>", one line per release file.
    (out_dir / "sha256sums.txt").write_text(f"{digest}  {archive.name}\n")
    return version, archive


# Debian patches its Prometheus and Alertmanager to read their web assets and Alertmanager's
# notification templates (default.tmpl) from here instead of embedding them; upstream release
# binaries carry them inside. Alertmanager refuses to start without default.tmpl.
DEBIAN_SHARE = Path("/usr/share/prometheus")
DEBIAN_RUNTIME_ARCHIVE = "debian-runtime/usr-share-prometheus.tar.gz"


def build_debian_runtime(root: Path) -> Path:
    """The files the Debian-built binaries expect under /usr/share/prometheus, as a tarball."""
    out = root / DEBIAN_RUNTIME_ARCHIVE
    out.parent.mkdir(parents=True, exist_ok=True)
    partial_path = out.with_suffix(f".partial-{os.getpid()}")
    with (
        partial_path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        for path in sorted(DEBIAN_SHARE.rglob("*")):
            arcname = str(path.relative_to("/"))
            if path.is_dir():
                _tar_add_dir(tar, arcname)
            elif path.is_file():
                _tar_add_file(tar, arcname, path, 0o644)
    os.replace(partial_path, out)
    return out


def build_mirror(root: Path = MIRROR_DIR) -> dict[str, str]:
    """Build every release archive this machine can provide; return {component: version}."""
    if DEBIAN_SHARE.is_dir():
        build_debian_runtime(root)
    versions = {}
    for spec in RELEASES:
        if not all(Path(src).exists() for _, src in spec.binaries):
            continue
        version, _ = build_release(spec, root)
        versions[spec.name] = version
    return versions


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def serve_mirror(root: Path, address: str, port: int = 0) -> Iterator[str]:
    """Serve `root` over HTTP on `address` (a veth end, never 0.0.0.0); yield the base URL."""
    server = ThreadingHTTPServer((address, port), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name=f"mirror-{address}", daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
