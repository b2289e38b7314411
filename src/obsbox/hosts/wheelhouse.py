"""What the demo service needs on a host with no route out: a wheelhouse and the example sources,
both put into the local mirror (under demo/) and installed from there with `pip --no-index`.

The hosts run bookworm's python3.11 on glibc 2.36, the same as this machine, so wheels built or
downloaded here install there unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# The demo service, its payments dependency and its invoice-rendering RQ worker (redis-server is
# in the host image).
# async-timeout: redis wants it below Python 3.11.3; bookworm has 3.11.2 while this machine's venv
# may be newer, so the resolver here would leave it out.
DEMO_REQUIREMENTS: tuple[str, ...] = ("flask>=3", "requests>=2.31", "redis>=5", "rq>=2.0", "async-timeout>=4.0.3")
INSTRUMENTATION_EXTRAS = "flask,requests,redis,rq"
EXAMPLES_ARCHIVE = "examples.tar.gz"


def _pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "-q", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


def build_wheelhouse(mirror_root: Path, repo_root: Path) -> Path:
    """Fill mirror_root/demo/wheels; dependencies once per requirement set, our package every time."""
    wheels = mirror_root / "demo" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    instrumentation = repo_root.resolve() / "instrumentation"
    spec = (instrumentation / "pyproject.toml").read_text() + "\n".join(DEMO_REQUIREMENTS)
    stamp = wheels / f".deps-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"
    # The package is rebuilt each time: its source changes far more often than its dependencies.
    # Built aside and renamed into place, so a host installing from the mirror at the same moment
    # (a test session next to `make demo`) never finds the wheel missing or half-written.
    with tempfile.TemporaryDirectory(dir=wheels.parent) as tmp:
        _pip("wheel", "--no-deps", "-w", tmp, str(instrumentation))
        for built in Path(tmp).glob("*.whl"):
            os.replace(built, wheels / built.name)
    if not stamp.exists():
        _pip("wheel", "-w", str(wheels), f"{instrumentation}[{INSTRUMENTATION_EXTRAS}]", *DEMO_REQUIREMENTS)
        stamp.touch()
    return wheels


def build_examples_archive(mirror_root: Path, repo_root: Path) -> Path:
    """examples/*.py and examples/demo_service/*.py as a tarball, with fixed metadata so an
    unchanged tree gives the same bytes (and pyinfra sees no change on a re-run)."""
    out = mirror_root / "demo" / EXAMPLES_ARCHIVE
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path in sorted((repo_root / "examples").rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            data = path.read_bytes()
            info = tarfile.TarInfo(str(path.relative_to(repo_root)))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    if not out.exists() or out.read_bytes() != buf.getvalue():
        with tempfile.NamedTemporaryFile(dir=out.parent, delete=False) as tmp_file:
            tmp_file.write(buf.getvalue())
        os.replace(tmp_file.name, out)
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
