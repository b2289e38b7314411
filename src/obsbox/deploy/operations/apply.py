"""Apply a ComponentPlan with pyinfra: user, dirs, install, validate-and-swap, unit, readiness."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, FindFiles
from pyinfra.operations import apt, files, server

from obsbox.deploy.layout import Layout, layout_for
from obsbox.deploy.operations.facts import existing_hash
from obsbox.deploy.operations.install import install_component
from obsbox.deploy.operations.service import unit_and_service
from obsbox.deploy.operations.swap import ManagedFile, validate_and_swap
from obsbox.deploy.plan import ComponentPlan, FileGroup, plan_for, validator_command
from obsbox.deploy.release import Release, release_for
from obsbox.deploy.settings import COMPONENTS, InventoryDataError, StackSettings, grafana_pins_missing


def system_user_and_dirs(layout: Layout, extra_dirs: tuple[str, ...] = ()) -> None:
    """A login-less system user, config dir readable by its group, data dir writable by it alone."""
    server.group(name=f"Create the group {layout.user}", group=layout.user, system=True)
    server.user(
        name=f"Create the system user {layout.user}",
        user=layout.user,
        group=layout.user,
        system=True,
        shell="/usr/sbin/nologin",
        home=layout.data_dir,
        create_home=False,
        ensure_home=False,
    )
    files.directory(
        name=f"Create {layout.config_dir}", path=layout.config_dir, user="root", group=layout.user, mode="0750"
    )
    files.directory(
        name=f"Create {layout.secrets_dir}", path=layout.secrets_dir, user="root", group=layout.user, mode="0750"
    )
    for path in host.loop((layout.data_dir, *extra_dirs)):
        files.directory(name=f"Create {path}", path=path, user=layout.user, group=layout.user, mode="0750")


def tools_on_host(settings: StackSettings) -> dict[str, str]:
    """Binary name -> path for every component installed on this host (validators included)."""
    tools: dict[str, str] = {}
    for component in COMPONENTS:
        if settings.enabled(component):
            tools.update(layout_for(settings, component).binaries)
    return tools


def _release(settings: StackSettings, component: str) -> Release | None:
    if settings.install[component].method == "package":
        return None
    if component == "grafana":
        missing = grafana_pins_missing(settings)
        if missing:
            raise InventoryDataError(missing)
    return release_for(settings, component)


_AUTH = {
    "prometheus": lambda s: s.prometheus_auth,
    "alertmanager": lambda s: s.alertmanager_auth,
    "node_exporter": lambda s: s.node_exporter_auth,
}


def _current_hash(settings: StackSettings, component: str) -> str:
    auth = _AUTH[component](settings) if component in _AUTH else None
    if auth is None:
        return ""
    return existing_hash(f"{layout_for(settings, component).config_dir}/web-config.yml", auth.username)


def _generate_secret(path: str) -> None:
    if host.get_fact(File, path=path):
        files.file(name=f"Keep {path} readable by root only", path=path, user="root", group="root", mode="0600")
        return
    quoted, tmp = shlex.quote(path), shlex.quote(f"{path}.tmp")
    server.shell(
        name=f"Generate {path} (readable by root only)",
        commands=[
            f"umask 077 && head -c 48 /dev/urandom | base64 | tr -d '/+=\\n' | head -c 32 > {tmp} && mv {tmp} {quoted}"
        ],
    )


def _prune(group: FileGroup) -> list[OperationMeta]:
    """Remove files from a managed directory that the group no longer has (deleted rules, dashboards)."""
    keep = {f.path for f in group.files}
    found = host.get_fact(FindFiles, path=group.prune_dir, maxdepth=1) or []
    ops = []
    for path in host.loop(sorted(found)):
        if path not in keep and path.endswith(group.prune_suffixes):
            ops.append(files.file(name=f"Remove {path} (no longer in the repository)", path=path, present=False))
    return ops


def apply_plan(settings: StackSettings, plan: ComponentPlan, tools: Mapping[str, str]) -> None:
    layout = plan.layout
    system_user_and_dirs(layout, plan.extra_dirs)
    restart_on = install_component(settings, layout, _release(settings, plan.component))
    if plan.ready_url.startswith("https://"):
        # The readiness probe speaks TLS through curl (bash's /dev/tcp only does plain HTTP).
        apt.packages(name="Install curl for the HTTPS readiness probes", packages=["curl"])

    known = {layout.config_dir, layout.secrets_dir, layout.data_dir, *plan.extra_dirs}
    parents = sorted({posixpath.dirname(f.path) for g in plan.groups for f in g.files} - known)
    # host.loop: these lists differ per host (see validate_and_swap).
    for parent in host.loop(parents):
        files.directory(name=f"Create {parent}", path=parent, user="root", group=layout.user, mode="0750")
    for secret in host.loop(plan.generated_secrets):
        _generate_secret(secret)

    reload_on: list[OperationMeta] = []
    for group in host.loop(plan.groups):
        if not group.files and not group.prune_dir:
            continue
        managed = [ManagedFile(f.path, f.content, f.user, f.group, f.mode) for f in group.files]
        check = group.check
        validator = (lambda staged, check=check: validator_command(check, layout, staged, tools)) if check else None
        reload_on += validate_and_swap(managed, layout.staging_dir, validator, check.split(" ")[0] if check else "")
        if group.prune_dir:
            reload_on += _prune(group)

    unit_and_service(
        plan.unit,
        restart_on=restart_on,
        reload_on=reload_on,
        ready_url=plan.ready_url,
        ready_timeout=settings.ready_timeout,
        auth_user=plan.auth_user,
        auth_password_file=plan.auth_password_file,
    )


def deploy_component(settings: StackSettings, component: str) -> None:
    """Plan and apply one component on the current host (nothing when it is disabled there)."""
    if not settings.enabled(component):
        return
    plan = plan_for(settings, component, _current_hash(settings, component))
    apply_plan(settings, plan, tools_on_host(settings))
