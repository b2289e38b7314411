"""One YAML dumper for every renderer, so output is stable (no anchors, keys in build order)."""

from __future__ import annotations

from typing import Any

import yaml


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any, header: str = "") -> str:
    """Dump Python data as YAML, keys in insertion order, with an optional comment header."""
    body = yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=False, width=1000)
    prefix = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return prefix + body


MANAGED_HEADER = "Managed by obsbox: edits are overwritten on the next deploy."
