"""A local artifact mirror for hosts with no route out, as an air-gapped install would use.

It holds the release archives that `obsbox binaries build` made from the Go modules at the
deploy's pinned versions (Prometheus and promtool, Alertmanager and amtool, node_exporter, and
obsbox's collector distribution), each in its upstream layout beside its checksum file, under
the deploy's `obsbox_artifact_base_url` layout {base}/{component}/{version}/{file}. It is served
over HTTP on this machine's end of a host's veth pair, so only that host can reach it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from obsbox.binaries.build import build_all, release_paths
from obsbox.binaries.catalog import catalog
from obsbox.hosts.serve import serving

MIRROR_DIR = Path(os.environ.get("OBSBOX_MIRROR_DIR", "/var/cache/obsbox/mirror"))


def release_dir(name: str, version: str) -> str:
    """Where a release lives under the mirror root (the deploy's artifact_base_url layout)."""
    return f"{name}/{version}"


def archive_name(name: str, version: str) -> str:
    for spec in catalog({name: version}):
        if spec.component == name:
            return spec.archive_name
    raise KeyError(name)


def _place(source: Path, target: Path) -> None:
    """Copy a release file into the mirror unless the same bytes are already there."""
    if target.exists() and target.stat().st_size == source.stat().st_size and target.read_bytes() == source.read_bytes():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_path = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.copyfile(source, partial_path)
    os.replace(partial_path, target)


def build_mirror(root: Path = MIRROR_DIR, say: Callable[[str], None] | None = None) -> dict[str, str]:
    """Put every pinned release into the mirror (building what is not cached); return {component: version}."""
    versions = {}
    for result in build_all(catalog(), say or (lambda line: None)):
        spec = result.spec
        archive, sums = release_paths(spec)
        for source in (archive, sums):
            _place(source, root / release_dir(spec.component, spec.version) / source.name)
        versions[spec.component] = spec.version
    return versions


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def serve_mirror(root: Path, address: str, port: int = 0) -> Iterator[str]:
    """Serve `root` over HTTP on `address` (a veth end, never 0.0.0.0); yield the base URL."""
    with serving(address, port, partial(_QuietHandler, directory=str(root)), f"mirror-{address}") as bound:
        yield f"http://{address}:{bound}"
