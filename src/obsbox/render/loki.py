"""Loki 3 single binary: filesystem storage, retention by the compactor, OTLP ingestion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from obsbox.formats import is_duration
from obsbox.render import ports
from obsbox.render._dskit import server_block
from obsbox.render._yaml import MANAGED_HEADER, dump_yaml
from obsbox.render.listen import LocalServer

# Tenant ids go to structured metadata; as a stream label each of hundreds of tenants would
# multiply every stream (docs/architecture.md, Signal contract).
TENANT_ATTRIBUTES = ("tenant.id",)


@dataclass(frozen=True)
class LokiSettings(LocalServer):
    http_port: int = ports.LOKI_HTTP
    grpc_port: int = ports.LOKI_GRPC
    data_dir: str = "/var/lib/loki"
    retention_period: str = "744h"
    schema_from: str = "2024-01-01"
    ingestion_rate_mb: int = 8
    ingestion_burst_size_mb: int = 16

    def __post_init__(self) -> None:
        if not is_duration(self.retention_period):
            raise ValueError(f"loki retention_period {self.retention_period!r} is not a duration like 744h")
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", self.schema_from):
            raise ValueError(f"loki schema_from {self.schema_from!r} is not a YYYY-MM-DD date")
        if self.http_port == self.grpc_port:
            raise ValueError("loki http_port and grpc_port are the same")


def render_loki_config(settings: LokiSettings) -> str:
    """Render Loki's config.yaml."""
    s = settings
    config: dict[str, Any] = {
        # One Loki tenant for the whole company; SaaS tenants live in structured metadata.
        "auth_enabled": False,
        "server": server_block(s.listen_address, s.http_port, s.grpc_port),
        "common": {
            "instance_addr": s.listen_address,
            "path_prefix": s.data_dir,
            "storage": {
                "filesystem": {
                    "chunks_directory": f"{s.data_dir}/chunks",
                    "rules_directory": f"{s.data_dir}/rules",
                }
            },
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": s.schema_from,
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {
            "retention_period": s.retention_period,
            "allow_structured_metadata": True,
            "ingestion_rate_mb": s.ingestion_rate_mb,
            "ingestion_burst_size_mb": s.ingestion_burst_size_mb,
            "otlp_config": {
                # Even a service that wrongly sets tenant.id as a resource attribute must not
                # turn it into a stream label.
                "resource_attributes": {
                    "attributes_config": [
                        {"action": "structured_metadata", "attributes": list(TENANT_ATTRIBUTES)}
                    ]
                },
                "log_attributes": [{"action": "structured_metadata", "attributes": list(TENANT_ATTRIBUTES)}],
            },
        },
        "compactor": {
            "working_directory": f"{s.data_dir}/compactor",
            "retention_enabled": True,
            "delete_request_store": "filesystem",
        },
        "analytics": {"reporting_enabled": False},
    }
    return dump_yaml(config, MANAGED_HEADER)
