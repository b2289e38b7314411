"""The TLS server files of an HTTPS listener, shared by every renderer that serves HTTPS."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate and its key, as paths on the host (always both)."""

    cert_file: str
    key_file: str

    def __post_init__(self) -> None:
        if not self.cert_file or not self.key_file:
            raise ValueError(f"TLS needs both a cert_file and a key_file, got {self.cert_file!r} and {self.key_file!r}")
