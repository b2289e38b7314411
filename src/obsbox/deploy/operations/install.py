"""pyinfra operations that put a component's binaries on a host: release archive or package.

Archive installs are gated on a fact (is the versioned binary there?), not on "did the download
change", so an interrupted run is finished by the next one and a finished install costs nothing.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server

from obsbox.deploy.layout import Layout, debian_package, install_root
from obsbox.deploy.release import Release, extract_command, verify_command
from obsbox.deploy.settings import StackSettings


def install_component(settings: StackSettings, layout: Layout, release: Release | None) -> list[OperationMeta]:
    """Install binaries; returns the operations whose change means the service must restart."""
    install = settings.install[layout.component]
    if install.method == "package":
        package = debian_package(layout.component)
        op = apt.packages(name=f"Install the Debian package {package}", packages=[package])
        return [op]

    assert release is not None
    root = install_root(settings, layout.component)
    cache = f"{settings.cache_dir}/{layout.component}/{install.version}"
    changed: list[OperationMeta] = []
    if not host.get_fact(File, path=layout.binary):
        tools = ["curl", "ca-certificates"] + (["unzip"] if release.kind == "zip" else [])
        apt.packages(name=f"Install {', '.join(tools)} to fetch release archives", packages=tools)
        files.directory(name=f"Create {cache}", path=cache, user="root", group="root", mode="0755")
        if release.checksums_url:
            files.download(
                name=f"Download {release.checksums_url}",
                src=release.checksums_url,
                dest=f"{cache}/{release.checksums_filename}",
                mode="0644",
            )
        files.download(
            name=f"Download {release.url}",
            src=release.url,
            dest=f"{cache}/{release.filename}",
            mode="0644",
        )
        server.shell(
            name=f"Verify {cache}/{release.filename}",
            commands=[verify_command(release, cache)],
        )
        changed.append(
            server.shell(
                name=f"Extract {release.filename} to {root}",
                commands=[extract_command(release, f"{cache}/{release.filename}", root)],
            )
        )
    for name, path in layout.binaries.items():
        changed.append(
            files.link(
                name=f"Link {settings.bin_dir}/{name} to {path}",
                path=f"{settings.bin_dir}/{name}",
                target=path,
            )
        )
    return changed
