"""A recording's first and last sample times from a streaming scan of its bytes.

Used to check manifests (replay range and windows inside the data) before any backfill: memory
is one read chunk whatever the file's size. Lines that are not well-formed samples are skipped
here; the strict reader names them later with file and line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from obsbox.replay.recording import RecordingError

CHUNK_BYTES = 1 << 22


def _timestamp_ms(line: bytes) -> int | None:
    parts = line.split()
    if len(parts) < 3 or line.startswith(b"#"):
        return None
    # "name{labels} value ts" — labels may hold spaces, so the timestamp is the last field.
    try:
        return round(float(parts[-1]) * 1000)
    except ValueError:
        return None


def data_range(path: Path, memo_dir: Path | None = None) -> tuple[int, int]:
    """(first, last) sample timestamps in ms; RecordingError naming the file when it has none.
    With ``memo_dir`` (the block cache's), remembered by the file's identity and mtime."""
    memo = None
    if memo_dir is not None:
        try:
            st = path.stat()
        except OSError as exc:
            raise RecordingError(path, 0, f"cannot read: {exc.strerror or exc}") from None
        ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{path.resolve()}"
        memo = memo_dir / "ranges" / hashlib.sha256(ident.encode()).hexdigest()
        try:
            low, high = memo.read_text(encoding="ascii").split()
            return int(low), int(high)
        except (OSError, ValueError):
            pass
    found = _scan(path)
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(f"{found[0]} {found[1]}", encoding="ascii")
        except OSError:
            pass  # only slower next time
    return found


def _scan(path: Path) -> tuple[int, int]:
    first: int | None = None
    last: int | None = None
    carry = b""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                carry = data[cut:]
                for line in data[:cut].splitlines():
                    ts = _timestamp_ms(line)
                    if ts is not None:
                        first = ts if first is None or ts < first else first
                        last = ts if last is None or ts > last else last
            if carry:
                ts = _timestamp_ms(carry)
                if ts is not None:
                    first = ts if first is None or ts < first else first
                    last = ts if last is None or ts > last else last
    except OSError as exc:
        raise RecordingError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    if first is None or last is None:
        raise RecordingError(path, 1, "the recording has no samples")
    return first, last
