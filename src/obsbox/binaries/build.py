"""Build the pinned releases from Go modules and pack them in their upstream archive layout.

Each build runs in a scratch copy of the module (its own go.mod and go.sum, as the project's
release tooling builds it), after the spec's steps have run in that copy (Prometheus's web UI:
npm on the module's lockfile, upstream's scripts), and ends in three things under the cache
directory: the executables (`build/<component>/<version>/`), the release archive with its checksum file
(`releases/<component>/<version>/`, the layout a mirror serves), and a stamp saying what was
built from what. A build whose inputs have not changed is reused; a half-finished one is never
used, because the stamp is written last.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from obsbox.binaries.catalog import BinarySpec, BuildStep, build_key
from obsbox.binaries.locate import build_dir, cache_dir, releases_dir

STAMP = "obsbox-build.json"
MIN_GO = (1, 24)


class BuildError(RuntimeError):
    """A release could not be built; the message names the component and what failed."""


@dataclass(frozen=True)
class BuildResult:
    spec: BinarySpec
    archive: Path
    sha256: str
    seconds: float
    cached: bool


def go_version(go: str = "go") -> str:
    """`go1.26.8` from `go env GOVERSION`; BuildError when Go is missing or too old."""
    exe = shutil.which(go)
    if exe is None:
        raise BuildError(f"go is not installed: obsbox builds Prometheus, Alertmanager, node_exporter, VictoriaMetrics and the "
                         f"collector from their Go modules and needs Go >= {MIN_GO[0]}.{MIN_GO[1]}")
    out = subprocess.run([exe, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    numbers = tuple(int(p) for p in out.removeprefix("go").split(".")[:2] if p.isdigit())
    if numbers < MIN_GO:
        raise BuildError(f"{out} is too old: building the pinned releases needs Go >= {MIN_GO[0]}.{MIN_GO[1]}")
    return out


def node_version(node: str = "node") -> str:
    """`v20.20.2` from `node --version`, or "" when Node.js is not installed."""
    exe = shutil.which(node)
    if exe is None:
        return ""
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def current_key(spec: BinarySpec, go: str) -> str:
    """The build key of `spec` with the toolchains installed here."""
    return build_key(spec, go, node_version() if spec.needs_node else "")


def release_paths(spec: BinarySpec) -> tuple[Path, Path]:
    """(archive, checksum file) of a spec under the cache's releases directory."""
    directory = releases_dir() / spec.component / spec.version
    return directory / spec.archive_name, directory / spec.checksums_name


def _stamp(spec: BinarySpec) -> Path:
    return release_paths(spec)[0].parent / STAMP


def is_current(spec: BinarySpec, key: str) -> bool:
    archive, sums = release_paths(spec)
    try:
        stamp = json.loads(_stamp(spec).read_text())
    except (OSError, ValueError):
        return False
    executables_there = all((build_dir(spec) / name).is_file() for name, _ in spec.binaries)
    return stamp.get("key") == key and archive.is_file() and sums.is_file() and executables_there


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Static binaries: they run unchanged on minimal hosts, as the official releases do.
    env.update({"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"})
    return env


def _run(argv: list[str], cwd: Path, what: str) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BuildError(f"{what}: `{' '.join(argv)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


# npm prefixes its own errors; these of its lines carry no reason of their own.
_NPM_ERROR_PREFIXES = ("npm error ", "npm ERR! ")
_NPM_DETAIL_WORDS = ("code", "errno", "syscall", "path", "dest", "command", "workspace", "location",
                     "signal", "A complete log", "Log files were not written")


def failure_reason(output: str, limit: int = 300) -> str:
    """One line saying why a step failed.

    npm's own failure (registry, network): its error code and first message. A script npm ran that
    failed (tsc, vite): npm's "Lifecycle script ... failed" and the script's last line naming an
    error. Anything else: the last line of output.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    npm_lines = [line.split(" ", 2)[2].strip() for line in lines
                 if line.startswith(_NPM_ERROR_PREFIXES) and len(line.split(" ", 2)) == 3]
    other = [line for line in lines if not line.startswith(_NPM_ERROR_PREFIXES) and line not in ("npm error", "npm ERR!")]
    # "code E403" is npm's; "code 2" is only a failed script's exit status.
    code = next((line.split()[1] for line in npm_lines if line.startswith("code E") and len(line.split()) > 1), "")
    message = next((line for line in npm_lines if not line.startswith(_NPM_DETAIL_WORDS)), "")
    if message.startswith("Lifecycle script"):
        cause = next((line for line in reversed(other) if "error" in line.lower()), other[-1] if other else "")
        message = f"{message} {cause}"
    reason = " ".join(part for part in (code, message) if part) or (lines[-1] if lines else "no output")
    reason = " ".join(reason.split())
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def _step_env() -> dict[str, str]:
    env = dict(os.environ)
    # No audit, funding or update checks: the build asks the npm registry only for the lockfile's packages.
    env.update({"npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false"})
    return env


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text).lower().split())


def run_step(spec: BinarySpec, step: BuildStep, root: Path) -> float:
    """Run one step in the build root; BuildError with a one-line reason naming the step if it fails."""
    what = f"{spec.component} {spec.version}: {step.name}"
    if shutil.which(step.argv[0]) is None:
        raise BuildError(f"{what}: `{step.argv[0]}` is not installed (building Prometheus's web UI as its release "
                         f"does needs Node.js and npm)")
    started = time.monotonic()
    proc = subprocess.run(list(step.argv), cwd=root / step.cwd, env=_step_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        log = cache_dir() / "logs" / f"{spec.component}-{spec.version}-{_slug(step.name)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stdout)
        raise BuildError(f"{what} failed (exit {proc.returncode}): {failure_reason(proc.stdout)} "
                         f"[full output: {log}]")
    return time.monotonic() - started


def _module_dir(spec: BinarySpec, scratch: Path) -> Path:
    """A writable copy of the build root: the downloaded module, or the in-repository distribution."""
    if spec.local_dir is not None:
        source = spec.local_dir
    else:
        out = _run(["go", "mod", "download", "-json", f"{spec.module}@{spec.module_version}"], scratch,
                   f"{spec.component}: download {spec.source}")
        info = json.loads(out)
        if info.get("Error"):
            raise BuildError(f"{spec.component}: the Go module proxy refused {spec.source}: {info['Error']}")
        source = Path(info["Dir"])
    root = scratch / "src"
    shutil.copytree(source, root, symlinks=True)
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return root


def _tar_add(tar: tarfile.TarFile, arcname: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(arcname)
    # Fixed metadata: the same executables always give the same archive and checksum.
    info.mtime = 0
    info.uname = info.gname = "root"
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def pack_release(spec: BinarySpec, files: Iterable[tuple[str, Path, int]], archive: Path) -> str:
    """Write the archive (upstream layout) and its checksum file atomically; return the sha256."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.partial-{os.getpid()}")
    top = spec.archive_top_dir
    with partial.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(
        fileobj=gz, mode="w"
    ) as tar:
        if top:
            _tar_add(tar, top, None, 0o755)
        for name, source, mode in files:
            _tar_add(tar, f"{top}/{name}" if top else name, source.read_bytes(), mode)
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    os.replace(partial, archive)
    sums = archive.parent / spec.checksums_name
    sums_partial = sums.with_name(f".{sums.name}.partial-{os.getpid()}")
    # Upstream format, as sha256sum prints it: "<sha256>  <file name>".
    sums_partial.write_text(f"{digest}  {archive.name}\n")
    os.replace(sums_partial, sums)
    return digest


def build_one(spec: BinarySpec, go: str, force: bool = False) -> BuildResult:
    """Build one release unless its cached build is current."""
    key = current_key(spec, go)
    archive, _ = release_paths(spec)
    if not force and is_current(spec, key):
        stamp = json.loads(_stamp(spec).read_text())
        return BuildResult(spec, archive, stamp["sha256"], 0.0, cached=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"obsbox-build-{spec.component}-") as tmp:
        scratch = Path(tmp)
        root = _module_dir(spec, scratch)
        steps = {step.name: round(run_step(spec, step, root), 1) for step in spec.steps}
        stage = scratch / "stage"
        stage.mkdir()
        for executable, package in spec.binaries:
            argv = ["go", "build", "-trimpath", "-o", str(stage / executable)]
            if spec.tags:
                argv.append(f"-tags={','.join(spec.tags)}")
            if spec.ldflags:
                argv.append(f"-ldflags={' '.join(spec.ldflags)}")
            _run([*argv, package], root, f"{spec.component}: build {executable} from {spec.source}")
        files = [(name, stage / name, 0o755) for name, _ in spec.binaries]
        files += [(name, root / name, 0o644) for name in spec.license_files if (root / name).is_file()]
        digest = pack_release(spec, files, archive)
        target = build_dir(spec)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(stage, target)
    seconds = time.monotonic() - started
    record: dict[str, object] = {"key": key, "source": spec.source, "go": go, "sha256": digest, "seconds": round(seconds, 1)}
    if steps:
        record["step_seconds"] = steps
    _stamp(spec).write_text(json.dumps(record, indent=2) + "\n")
    return BuildResult(spec, archive, digest, seconds, cached=False)


def build_all(
    specs: Iterable[BinarySpec], say: Callable[[str], None], force: bool = False
) -> list[BuildResult]:
    """Build every spec, one progress line as each starts and ends."""
    go = go_version()
    results = []
    for spec in specs:
        names = ", ".join(name for name, _ in spec.binaries)
        say(f"obsbox binaries: {spec.component} {spec.version} ({names}) from {spec.source} ...")
        result = build_one(spec, go, force=force)
        how = "cached" if result.cached else f"built in {result.seconds:.0f} s with {go}"
        say(f"obsbox binaries: {spec.component} {spec.version}: {how} -> {result.archive}")
        results.append(result)
    return results
