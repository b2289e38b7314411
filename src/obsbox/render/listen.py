"""Where the stack's servers listen: loopback unless an inventory names another address (nothing
is reachable from the network by default), and ``host:port`` written so that IPv6 works too."""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


def host_port(address: str, port: int) -> str:
    """``address:port``, an IPv6 address in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True)
class LocalServer:
    """The part every server's settings share; each adds its own ports (render.ports)."""

    listen_address: str = LOOPBACK

    def endpoint(self, port: int) -> str:
        """``host:port`` of one of this server's ports on its listen address."""
        return host_port(self.listen_address, port)
