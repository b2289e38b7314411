"""Config pieces shared by Grafana's dskit-based servers (Loki, Tempo)."""

from __future__ import annotations

from typing import Any


def server_block(listen_address: str, http_port: int, grpc_port: int) -> dict[str, Any]:
    """The ``server:`` block: HTTP and gRPC on one listen address, log level info."""
    return {
        "http_listen_address": listen_address,
        "http_listen_port": http_port,
        "grpc_listen_address": listen_address,
        "grpc_listen_port": grpc_port,
        "log_level": "info",
    }
