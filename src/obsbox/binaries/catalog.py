"""What obsbox builds from Go modules, at the deploy's pinned versions (pure).

Prometheus, Alertmanager and node_exporter are built from their own modules exactly as their
release tooling (promu) does: the module's own go.mod and go.sum, tag ``netgo``, the version
stamped into ``github.com/prometheus/common/version``. Prometheus also carries its web UI as its
release does: the module holds only the UI's sources, so the build first runs upstream's own UI
build in the module (``npm ci`` on its lockfile, ``build_ui.sh``, ``compress_assets.sh``) and
then embeds the result with the tag ``builtinassets``. The collector is obsbox's own
distribution (``distributions/otelcol-obsbox``: a builder manifest and the sources it
generates). VictoriaMetrics (the HA layout's long-term store) is built from its own module as
its Makefile's pure-Go ("-pure") build does, with the version stamped into its ``lib/buildinfo``;
its release archive holds ``victoria-metrics-prod`` at the top. Each result is packed in its upstream release layout, so a host installs it from a
mirror exactly as it would install the official archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from obsbox.deploy.settings import ALL_DEFAULTS

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECTOR_DISTRIBUTION_DIR = REPO_ROOT / "distributions" / "otelcol-obsbox"
COLLECTOR_DISTRIBUTION = "otelcol-obsbox"
ARCH = "amd64"
PROMETHEUS_VERSION_PACKAGE = "github.com/prometheus/common/version"
VICTORIAMETRICS_MODULE = "github.com/VictoriaMetrics/VictoriaMetrics"
VICTORIAMETRICS_BINARY = "victoria-metrics-prod"


@dataclass(frozen=True)
class BuildStep:
    """A command run in the build root before `go build`, as upstream's Makefile runs it."""

    name: str  # what the step does, as progress lines and errors say it
    cwd: str  # relative to the build root
    argv: tuple[str, ...]


# Upstream's `make build` runs `assets npm_licenses assets-compress` before promu builds with the
# tags netgo,builtinassets (web/ui/assets_embed.go). The same steps, on the module's own lockfile
# and scripts; only the old React UI (react-app, served with --enable-feature=old-ui) is left out.
PROMETHEUS_UI_STEPS = (
    BuildStep("web UI: npm ci (web/ui/package-lock.json)", "web/ui", ("npm", "ci")),
    BuildStep(
        "web UI: build_ui.sh (lezer-promql, codemirror-promql, mantine-ui)",
        "web/ui",
        # build_ui.sh's own functions; --all would also build react-app, a separate npm project.
        ("bash", "-c", "set -e; source ./build_ui.sh; buildModule; buildMantineUI"),
    ),
    BuildStep(
        "web UI: npm_licenses.tar.bz2",
        ".",
        # The Makefile's npm_licenses target, for the web/ui workspaces; sorted names and GNU tar's
        # fixed times and owners keep the release archive the same bytes for the same inputs.
        ("bash", "-c", 'set -eo pipefail; rm -f npm_licenses.tar.bz2 npm_licenses; ln -s . npm_licenses; '
         'find npm_licenses/web/ui/node_modules -iname "license*" | LC_ALL=C sort | tar cfj npm_licenses.tar.bz2 '
         "--files-from=- --mtime=@0 --owner=0 --group=0 --numeric-owner; rm -f npm_licenses"),
    ),
    BuildStep("web UI: scripts/compress_assets.sh (gzip and embed)", ".", ("bash", "scripts/compress_assets.sh")),
)


@dataclass(frozen=True)
class BinarySpec:
    """One component's release: where its Go sources come from and what the archive holds."""

    component: str  # the deploy's component name: prometheus, alertmanager, ...
    version: str  # the release version, as pinned in the deploy (3.5.0)
    module: str  # the Go module, or "" for a distribution kept in this repository
    module_version: str  # v0.305.0 for Prometheus 3.5.0; "" for a local distribution
    binaries: tuple[tuple[str, str], ...]  # (executable name, Go package inside the build root)
    tags: tuple[str, ...] = ("netgo",)
    ldflags: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ("LICENSE", "NOTICE")
    local_dir: Path | None = None  # the build root when the sources live in this repository
    steps: tuple[BuildStep, ...] = ()  # run in the build root, in order, before `go build`

    @property
    def needs_node(self) -> bool:
        return any(step.argv[0] == "npm" for step in self.steps)

    @property
    def archive_name(self) -> str:
        if self.component == "otelcol":
            return f"{COLLECTOR_DISTRIBUTION}_{self.version}_linux_{ARCH}.tar.gz"
        if self.component == "victoriametrics":
            return victoriametrics_archive_name(self.version, ARCH)
        return f"{self.component}-{self.version}.linux-{ARCH}.tar.gz"

    @property
    def checksums_name(self) -> str:
        # The collector's releases (goreleaser) name theirs checksums.txt since v0.158.
        if self.component == "otelcol":
            return "checksums.txt"
        if self.component == "victoriametrics":
            return victoriametrics_checksums_name(self.version, ARCH)
        return "sha256sums.txt"

    @property
    def archive_top_dir(self) -> str:
        """The directory inside the archive ("" for the collector and VictoriaMetrics: their files sit at the top)."""
        if self.component in ("otelcol", "victoriametrics"):
            return ""
        return f"{self.component}-{self.version}.linux-{ARCH}"

    @property
    def source(self) -> str:
        if self.local_dir is not None:
            where = self.local_dir.relative_to(REPO_ROOT) if self.local_dir.is_relative_to(REPO_ROOT) else self.local_dir
            return f"{where} (collector {self.version})"
        return f"{self.module}@{self.module_version}"


def victoriametrics_archive_name(version: str, arch: str) -> str:
    """Upstream's single-node release archive: victoria-metrics-linux-amd64-v1.151.0.tar.gz."""
    return f"victoria-metrics-linux-{arch}-v{version}.tar.gz"


def victoriametrics_checksums_name(version: str, arch: str) -> str:
    return f"victoria-metrics-linux-{arch}-v{version}_checksums.txt"


def prometheus_module_version(version: str) -> str:
    """Prometheus 3.X.Y is published as Go module version v0.3XX.Y (3.5.0 -> v0.305.0)."""
    major, minor, patch = (int(part) for part in version.split("."))
    if major < 3:
        raise ValueError(f"Prometheus {version}: only 3.x releases are published as Go module versions")
    return f"v0.{major * 100 + minor}.{patch}"


def _prometheus_ldflags(version: str, module_version: str) -> tuple[str, ...]:
    return (
        f"-X {PROMETHEUS_VERSION_PACKAGE}.Version={version}",
        f"-X {PROMETHEUS_VERSION_PACKAGE}.Revision={module_version}",
        f"-X {PROMETHEUS_VERSION_PACKAGE}.Branch=HEAD",
        f"-X {PROMETHEUS_VERSION_PACKAGE}.BuildUser=obsbox",
    )


def pinned_versions(data: Mapping[str, object] | None = None) -> dict[str, str]:
    """component -> version for everything obsbox builds, from the deploy's defaults or `data`."""
    merged = {**ALL_DEFAULTS, **(data or {})}
    return {
        c: str(merged[f"{c}_version"])
        for c in ("prometheus", "alertmanager", "node_exporter", "otelcol", "victoriametrics")
    }


def catalog(versions: Mapping[str, str] | None = None) -> tuple[BinarySpec, ...]:
    """The five releases obsbox builds, at `versions` (default: the deploy's pins)."""
    v = {**pinned_versions(), **(versions or {})}
    prom_mod = prometheus_module_version(v["prometheus"])
    am_mod, ne_mod = f"v{v['alertmanager']}", f"v{v['node_exporter']}"
    return (
        BinarySpec(
            "prometheus",
            v["prometheus"],
            "github.com/prometheus/prometheus",
            prom_mod,
            (("prometheus", "./cmd/prometheus"), ("promtool", "./cmd/promtool")),
            tags=("netgo", "builtinassets"),
            ldflags=_prometheus_ldflags(v["prometheus"], prom_mod),
            license_files=("LICENSE", "NOTICE", "npm_licenses.tar.bz2"),
            steps=PROMETHEUS_UI_STEPS,
        ),
        BinarySpec(
            "alertmanager",
            v["alertmanager"],
            "github.com/prometheus/alertmanager",
            am_mod,
            (("alertmanager", "./cmd/alertmanager"), ("amtool", "./cmd/amtool")),
            ldflags=_prometheus_ldflags(v["alertmanager"], am_mod),
        ),
        BinarySpec(
            "node_exporter",
            v["node_exporter"],
            "github.com/prometheus/node_exporter",
            ne_mod,
            (("node_exporter", "."),),
            ldflags=_prometheus_ldflags(v["node_exporter"], ne_mod),
        ),
        BinarySpec(
            "otelcol",
            v["otelcol"],
            "",
            "",
            ((COLLECTOR_DISTRIBUTION, "."),),
            tags=(),
            ldflags=("-s", "-w"),
            license_files=(),
            local_dir=COLLECTOR_DISTRIBUTION_DIR,
        ),
        BinarySpec(
            "victoriametrics",
            v["victoriametrics"],
            VICTORIAMETRICS_MODULE,
            f"v{v['victoriametrics']}",
            ((VICTORIAMETRICS_BINARY, "./app/victoria-metrics"),),
            tags=(),
            # The Makefile's GO_BUILDINFO; `-version` prints it, /metrics exposes its short form.
            ldflags=(
                f"-X {VICTORIAMETRICS_MODULE}/lib/buildinfo.Version=victoria-metrics-obsbox-tags-v{v['victoriametrics']}",
            ),
            license_files=("LICENSE",),
        ),
    )


def spec_for(component: str, versions: Mapping[str, str] | None = None) -> BinarySpec:
    for spec in catalog(versions):
        if spec.component == component:
            return spec
    raise KeyError(f"obsbox builds no {component!r}; it builds {', '.join(s.component for s in catalog())}")


def build_key(spec: BinarySpec, go_version: str, node_version: str = "") -> str:
    """What a cached build depends on: a change to any of it means building again.

    `node_version` (``node --version``) counts only for a spec whose steps run npm.
    """
    digest = hashlib.sha256()
    digest.update(repr((spec.source, spec.binaries, spec.tags, spec.ldflags, go_version)).encode())
    if spec.steps:
        # Only here, so the keys of the specs without steps stay what they were.
        digest.update(repr((spec.steps, spec.license_files, node_version if spec.needs_node else "")).encode())
    if spec.local_dir is not None:
        for path in sorted(spec.local_dir.iterdir()):
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
