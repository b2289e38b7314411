"""The collector distribution's Go sources, as the OpenTelemetry Collector builder writes them
from ``manifest.yaml``: regenerate them, or find which checked-in ones differ.

The builder runs at the manifest's own collector version (``dist.version``) in a scratch
directory, so a check never touches the checked-in tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

BUILDER_MODULE = "go.opentelemetry.io/collector/cmd/builder"
# What `builder --skip-compilation` writes beside the manifest.
GENERATED = ("components.go", "go.mod", "go.sum", "main.go", "main_others.go", "main_windows.go")


class SourcesError(RuntimeError):
    """The manifest is unreadable, or the builder failed; the message names which and why."""


def builder_version(manifest: Path) -> str:
    """The collector release the manifest is written for (``dist.version``), the builder's own version."""
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourcesError(f"{manifest}: {' '.join(str(exc).split())}") from None
    version = (data or {}).get("dist", {}).get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version:
        raise SourcesError(f"{manifest}: no dist.version (the collector release to build)")
    return version


def builder_argv(version: str) -> list[str]:
    """The builder at that release, writing sources only (`obsbox binaries build` compiles them)."""
    return ["go", "run", f"{BUILDER_MODULE}@v{version}", "--config", "manifest.yaml", "--skip-compilation"]


def generate(distribution_dir: Path) -> dict[str, bytes]:
    """Run the builder on a copy of the manifest; the generated files by name."""
    manifest = distribution_dir / "manifest.yaml"
    argv = builder_argv(builder_version(manifest))
    if shutil.which("go") is None:
        raise SourcesError("no `go` on PATH (make setup installs Go)")
    with tempfile.TemporaryDirectory(prefix="obsbox-collector-sources-") as tmp:
        shutil.copy(manifest, Path(tmp) / "manifest.yaml")
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
        proc = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise SourcesError(f"{' '.join(argv)} failed (exit {proc.returncode}): {tail}")
        missing = [name for name in GENERATED if not (Path(tmp) / name).is_file()]
        if missing:
            raise SourcesError(f"{' '.join(argv)} wrote no {', '.join(missing)}")
        return {name: (Path(tmp) / name).read_bytes() for name in GENERATED}


def differences(distribution_dir: Path, fresh: dict[str, bytes]) -> list[str]:
    """Names of the checked-in files that are missing or differ from the fresh ones (pure but reads)."""
    return [
        name for name, data in fresh.items()
        if not (distribution_dir / name).is_file() or (distribution_dir / name).read_bytes() != data
    ]


def write(distribution_dir: Path, fresh: dict[str, bytes]) -> list[Path]:
    """Write the fresh files into the distribution directory."""
    written = []
    for name, data in fresh.items():
        (distribution_dir / name).write_bytes(data)
        written.append(distribution_dir / name)
    return written
