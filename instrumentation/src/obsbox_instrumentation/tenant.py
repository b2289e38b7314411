"""Tenant context: extraction from a request, baggage, and the cardinality cap for metrics.

The tenant rides in W3C baggage (``tenant.id``) so it reaches spans, logs and outgoing HTTP
calls. On metrics it goes through :class:`TenantCap`: only N tenants are ever admitted as label
values; every other tenant is folded into ``__other__``. Admission is sticky (a Prometheus series
cannot be retracted, so re-ranking would grow the value set without bound) and shared across
pre-fork workers through an admission file in the Prometheus multiprocess directory, so one
scrape of N workers still sees at most N admitted values plus ``__other__`` (plus ``__none__`` for
requests that carry no tenant at all).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

from opentelemetry import baggage, context

from .contract import BAGGAGE_TENANT, TENANT_NONE, TENANT_OTHER

ADMISSION_FILE = "obsbox_tenants_admitted.txt"
# Tenants tracked per process while waiting for admission; beyond this new ones are not counted
# (they fold into __other__), which bounds memory under a flood of random tenant ids.
MAX_TRACKED = 10_000
MAX_TENANT_LEN = 128


def header_to_environ_key(header: str) -> str:
    """``X-Tenant-ID`` -> ``HTTP_X_TENANT_ID`` (the WSGI environ key)."""
    return "HTTP_" + header.upper().replace("-", "_")


def clean_tenant(value: object) -> str | None:
    """A usable tenant id or None: strings only, stripped, bounded in length."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    return value[:MAX_TENANT_LEN]


def current_tenant(ctx: context.Context | None = None) -> str | None:
    """The tenant in the active (or given) context's baggage."""
    value = baggage.get_baggage(BAGGAGE_TENANT, ctx)
    return value if isinstance(value, str) else None


@contextlib.contextmanager
def tenant_context(tenant_id: str | None) -> Iterator[None]:
    """Run a block (a job, a script) as this tenant: baggage, spans, logs and outgoing calls."""
    cleaned = clean_tenant(tenant_id)
    if cleaned is None:
        yield
        return
    token = context.attach(baggage.set_baggage(BAGGAGE_TENANT, cleaned))
    try:
        yield
    finally:
        context.detach(token)


class TenantCap:
    """Maps tenant ids to at most ``top_n`` admitted label values plus ``__other__``."""

    def __init__(self, top_n: int, admit_after: int = 1, directory: str | None = None) -> None:
        self.top_n = top_n
        self.admit_after = max(1, admit_after)
        self._path = os.path.join(directory, ADMISSION_FILE) if directory else None
        self._admitted: set[str] = set()
        self._full = top_n == 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._file_size = -1

    def label(self, tenant: str | None) -> str:
        """The metric label value for this tenant (hot path: one set lookup when admitted)."""
        if tenant is None:
            return TENANT_NONE
        if tenant in self._admitted:
            return tenant
        if self._full:
            # Full means the shared file held N tenants when last read; it never shrinks.
            return TENANT_OTHER
        with self._lock:
            count = self._counts.get(tenant)
            if count is None:
                if len(self._counts) >= MAX_TRACKED:
                    return TENANT_OTHER
                count = 0
            count += 1
            self._counts[tenant] = count
            if count < self.admit_after:
                return TENANT_OTHER
            return tenant if self._admit(tenant) else TENANT_OTHER

    def admitted(self) -> frozenset[str]:
        """The admitted set as this process knows it (refreshed from the shared file)."""
        self._refresh_if_changed()
        return frozenset(self._admitted)

    def _admit(self, tenant: str) -> bool:
        if self._path is None:
            if len(self._admitted) < self.top_n:
                self._admitted.add(tenant)
                self._counts.pop(tenant, None)
            else:
                self._full = True
            return tenant in self._admitted
        # Shared across processes: read-modify-append under an exclusive lock on the file.
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            admitted = self._read_fd(fd)
            if tenant not in admitted and len(admitted) < self.top_n:
                os.write(fd, (tenant.replace("\n", " ") + "\n").encode("utf-8"))
                admitted.append(tenant)
            self._admitted = set(admitted)
            self._file_size = os.fstat(fd).st_size
        finally:
            os.close(fd)  # closing releases the flock
        self._counts.pop(tenant, None)
        if len(self._admitted) >= self.top_n:
            self._full = True
            self._counts.clear()
        return tenant in self._admitted

    @staticmethod
    def _read_fd(fd: int) -> list[str]:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8", "replace")
        seen: list[str] = []
        for line in text.splitlines():
            if line and line not in seen:
                seen.append(line)
        return seen

    def _refresh_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            size = os.stat(self._path).st_size
        except FileNotFoundError:
            return
        if size == self._file_size:
            return
        with self._lock:
            fd = os.open(self._path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                self._admitted = set(self._read_fd(fd)[: self.top_n])
                self._file_size = os.fstat(fd).st_size
            finally:
                os.close(fd)
