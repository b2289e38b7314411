"""Tempo monolithic: local block storage, OTLP from the collector, retention by the compactor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from obsbox.render import ports
from obsbox.render._dskit import server_block
from obsbox.render._yaml import MANAGED_HEADER, dump_yaml
from obsbox.render.listen import LocalServer


@dataclass(frozen=True)
class TempoSettings(LocalServer):
    http_port: int = ports.TEMPO_HTTP
    grpc_port: int = ports.TEMPO_GRPC
    otlp_grpc_port: int = ports.TEMPO_OTLP_GRPC
    data_dir: str = "/var/lib/tempo"
    retention: str = "336h"

    def __post_init__(self) -> None:
        if not re.match(r"^\d+(s|m|h)$", self.retention):
            raise ValueError(f"tempo retention {self.retention!r} is not a duration like 336h")
        ports = [self.http_port, self.grpc_port, self.otlp_grpc_port]
        if len(set(ports)) != len(ports):
            raise ValueError(f"tempo ports collide: {ports}")


def render_tempo_config(settings: TempoSettings) -> str:
    """Render Tempo's config.yaml."""
    s = settings
    config: dict[str, Any] = {
        "stream_over_http_enabled": True,
        "server": server_block(s.listen_address, s.http_port, s.grpc_port),
        # Monolithic Tempo still starts memberlist; keep it off the network.
        "memberlist": {"bind_addr": [s.listen_address]},
        "distributor": {
            "receivers": {
                "otlp": {"protocols": {"grpc": {"endpoint": s.endpoint(s.otlp_grpc_port)}}}
            }
        },
        "ingester": {"max_block_duration": "5m"},
        "compactor": {"compaction": {"block_retention": s.retention}},
        "storage": {
            "trace": {
                "backend": "local",
                "wal": {"path": f"{s.data_dir}/wal"},
                "local": {"path": f"{s.data_dir}/blocks"},
            }
        },
        "usage_report": {"reporting_enabled": False},
    }
    return dump_yaml(config, MANAGED_HEADER)
