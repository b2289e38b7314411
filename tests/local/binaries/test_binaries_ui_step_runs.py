"""Prometheus's web UI steps run for real on small inputs: a failing npm ci fails the build with one line
naming the step (real npm, a refusing or closed registry); the npm licenses tarball is the same bytes each time."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.procs import free_port
from obsbox.binaries.build import BuildError, run_step
from obsbox.binaries.catalog import PROMETHEUS_UI_STEPS, spec_for

LOCK = {
    "name": "obsbox-ui-step-test",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "obsbox-ui-step-test", "version": "1.0.0", "dependencies": {"left-pad": "1.3.0"}},
        "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"},
    },
}


class _Refuse(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_error(403, "Forbidden")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        return


@pytest.fixture
def refusing_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _module(tmp_path: Path) -> Path:
    ui = tmp_path / "src" / "web" / "ui"
    ui.mkdir(parents=True)
    (ui / "package.json").write_text(json.dumps({"name": LOCK["name"], "version": "1.0.0", "private": True,
                                                 "dependencies": {"left-pad": "1.3.0"}}))
    (ui / "package-lock.json").write_text(json.dumps(LOCK))
    return tmp_path / "src"


@pytest.mark.parametrize("registry", ["refusing", "closed"])
def test_npm_ci_failure_fails_the_build_naming_the_step(
    registry: str, refusing_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """npm ci against a registry that refuses (403) or is unreachable: BuildError, one line, npm's reason."""
    assert shutil.which("npm"), "npm is missing: make setup needs it to build Prometheus's web UI"
    url = refusing_registry if registry == "refusing" else f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("OBSBOX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_registry", url)
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nothing cached: npm must ask
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    spec = spec_for("prometheus")
    step = PROMETHEUS_UI_STEPS[0]
    with pytest.raises(BuildError) as raised:
        run_step(spec, step, _module(tmp_path))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"prometheus {spec.version}: web UI: npm ci (web/ui/package-lock.json) failed (exit 1): ")
    assert ("E403" if registry == "refusing" else "ECONNREFUSED") in message, message
    log = Path(message.rsplit("[full output: ", 1)[1].rstrip("]"))
    assert log.is_relative_to(tmp_path / "cache") and "npm error" in log.read_text()


def test_npm_licenses_tarball_is_reproducible(tmp_path: Path) -> None:
    """Upstream's npm_licenses target with sorted names, fixed times and owners: same files, same bytes."""
    root = tmp_path / "src"
    for package in ("b-pkg", "a-pkg", "@scope/c-pkg"):
        directory = root / "web" / "ui" / "node_modules" / package
        directory.mkdir(parents=True)
        (directory / "LICENSE").write_text(f"{package} license\n")
        (directory / "index.js").write_text("module.exports = 1;\n")
    spec = spec_for("prometheus")
    step = next(s for s in PROMETHEUS_UI_STEPS if "npm_licenses" in s.name)
    run_step(spec, step, root)
    first = hashlib.sha256((root / "npm_licenses.tar.bz2").read_bytes()).hexdigest()
    for license_file in root.rglob("LICENSE"):
        os.utime(license_file, (1_700_000_000, 1_700_000_000))
    run_step(spec, step, root)
    assert hashlib.sha256((root / "npm_licenses.tar.bz2").read_bytes()).hexdigest() == first
    assert not (root / "npm_licenses").exists()
    with tarfile.open(root / "npm_licenses.tar.bz2") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "npm_licenses/web/ui/node_modules/@scope/c-pkg/LICENSE",
        "npm_licenses/web/ui/node_modules/a-pkg/LICENSE",
        "npm_licenses/web/ui/node_modules/b-pkg/LICENSE",
    ]
    assert {(m.mtime, m.uid, m.gid) for m in members} == {(0, 0, 0)}
