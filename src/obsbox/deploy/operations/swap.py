"""Validate-and-swap: a new config reaches the live path only after the component's own validator
accepted it, so a bad config never replaces a good one on a running service.

Whether anything is to do is decided at plan time by comparing the live file's sha256 with the
rendered text: an unchanged config plans no commands (a re-run reports zero changes), and a
config that failed validation last time is staged and checked again on the next run instead of
being forgotten because the staging copy did not change.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import StringIO

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import Sha256File
from pyinfra.operations import files, server


@dataclass(frozen=True)
class ManagedFile:
    path: str
    content: str
    user: str = "root"
    group: str = "root"
    mode: str = "0640"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def staged_path(self, staging_dir: str) -> str:
        # The whole path flattened: two files of one group may share a base name.
        return posixpath.join(staging_dir, self.path.strip("/").replace("/", "__"))


# Given {live path: staged path}, the shell command that checks the staged files; None: no check.
Validator = Callable[[dict[str, str]], str] | None


def files_needing_swap(managed: Sequence[ManagedFile]) -> list[ManagedFile]:
    """The files whose live content differs from what was rendered (plan-time fact)."""
    return [f for f in managed if host.get_fact(Sha256File, path=f.path) != f.sha256]


def validate_and_swap(
    managed: Sequence[ManagedFile],
    staging_dir: str,
    validator: Validator,
    validator_name: str,
) -> list[OperationMeta]:
    """Stage changed files, run the validator on them, then install them over the live paths.

    Returns the operations that change live files (empty when everything is current). When the
    validator fails, pyinfra stops this host with the validator's output and the live files stay.
    """
    changed = files_needing_swap(managed)
    if not changed:
        for f in host.loop(managed):
            # Keeps owner and mode right when only those drifted; plans nothing otherwise.
            files.file(name=f"Set owner and mode of {f.path}", path=f.path, user=f.user, group=f.group, mode=f.mode)
        return []

    # Only root (the validators) reads staged files; a half-checked secret is nobody else's.
    files.directory(name=f"Create {staging_dir}", path=staging_dir, user="root", group="root", mode="0700")
    staged = {f.path: f.staged_path(staging_dir) for f in changed}
    # host.loop throughout: which files changed differs per host, and pyinfra tells operations
    # apart by call-stack lines plus loop position; without the position, hosts with different
    # counts of changed files order the same operations differently (a cycle in a multi-host run).
    for f in host.loop(changed):
        files.put(
            name=f"Stage {f.path} as {staged[f.path]}",
            src=StringIO(f.content),
            dest=staged[f.path],
            user=f.user,
            group=f.group,
            mode=f.mode,
        )
    if validator is not None:
        targets = ", ".join(staged.values())
        server.shell(name=f"Check {targets} with {validator_name}", commands=[validator(staged)])
    ops = []
    for f in host.loop(changed):
        # install(1) writes a new inode and renames it in: readers see the old or the new file.
        tmp = f"{f.path}.obsbox-new"
        command = (
            f"install -o {shlex.quote(f.user)} -g {shlex.quote(f.group)} -m {f.mode} "
            f"{shlex.quote(staged[f.path])} {shlex.quote(tmp)} && mv -f {shlex.quote(tmp)} {shlex.quote(f.path)}"
        )
        ops.append(server.shell(name=f"Install the checked {f.path}", commands=[command]))
    return ops
