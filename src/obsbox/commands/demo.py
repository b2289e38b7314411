"""`obsbox demo up` and `obsbox demo down` (what `make demo` and `make demo-down` run)."""

from __future__ import annotations

import os

import typer

from obsbox.commands._exit import EXIT_FAILED, fail
from obsbox.commands._source import source_checkout

demo_app = typer.Typer(
    help="The whole kit on one throwaway systemd host, narrated (needs root).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _as_root(verb: str) -> None:
    if os.geteuid() != 0:
        raise fail(f"obsbox demo {verb} needs root (network namespaces, veth pairs, debootstrap)")


@demo_app.command("up")
def up() -> None:
    """Boot a throwaway systemd host, deploy the stack from a local mirror, run the demo service
    and its invoice-rendering RQ worker with traffic, inject an HTTP and a job incident until their
    alerts reach Alertmanager, and replay the corpus. The host stays
    up (its description in .demo/host.json) until `obsbox demo down`."""
    _as_root("up")
    source_checkout("demo up", "examples", "deploy", "alert_rules")
    from obsbox.demo import DemoError
    from obsbox.demo import up as demo_up

    try:
        demo_up()
    except DemoError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None


@demo_app.command("down")
def down() -> None:
    """Stop the demo host and remove everything `obsbox demo up` made; keep the image and mirror caches."""
    _as_root("down")
    from obsbox.demo import down as demo_down

    demo_down()


def register(app: typer.Typer) -> None:
    """Add this area's commands to the obsbox app."""
    app.add_typer(demo_app, name="demo")
