"""Every file the deploy would write on a host, rendered without a host (for `obsbox render`)."""

from __future__ import annotations

from obsbox.deploy.plan import ComponentPlan, plan_for
from obsbox.deploy.settings import COMPONENTS, StackSettings
from obsbox.deploy.units import unit_path
from obsbox.render.systemd import render_unit


def host_plans(settings: StackSettings) -> list[ComponentPlan]:
    """The plan of every component enabled for this host, in deploy order."""
    return [plan_for(settings, c) for c in COMPONENTS if settings.enabled(c)]


def render_host_files(settings: StackSettings) -> dict[str, str]:
    """{absolute host path: content} for configs, secrets, rules, dashboards and units."""
    out: dict[str, str] = {}
    for plan in host_plans(settings):
        for group in plan.groups:
            for f in group.files:
                out[f.path] = f.content
        out[unit_path(plan.unit.name)] = render_unit(plan.unit)
    return out
