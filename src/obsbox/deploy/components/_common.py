"""Operations every component shares: its system user and its directories."""

from __future__ import annotations

from pyinfra import host
from pyinfra.operations import files, server

from obsbox.deploy.layout import Layout


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
