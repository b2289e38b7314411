"""Backfilled TSDB blocks cached by what they were made from, so a second replay skips promtool.

An entry is keyed by a hash of its input: a recording file's content (with the promtool that
made the blocks and how it was called), or the text of the combined backfill file. A changed
recording has another hash, so it never meets stale blocks; entries unused for longest go first
when the cache outgrows its bound. Blocks are hard-linked into the replay's TSDB (copied across
file systems); Prometheus never rewrites a block's files in place (it writes new ones and
renames), so the cached copy stays intact.

Location: ``--block-cache DIR`` on the commands, else OBSBOX_BLOCK_CACHE, else
``<OBSBOX_CACHE_DIR>/replay-blocks``; ``off`` turns it off. Bound: OBSBOX_BLOCK_CACHE_MAX_MB
(default 4096).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

BLOCK_CACHE_ENV = "OBSBOX_BLOCK_CACHE"
MAX_MB_ENV = "OBSBOX_BLOCK_CACHE_MAX_MB"
DEFAULT_MAX_MB = 4096
HASH_CHUNK = 1 << 22
# Bumped when what an entry holds changes meaning.
FORMAT = "1"


def default_cache() -> BlockCache | None:
    """The cache the environment asks for; None when it is off."""
    setting = os.environ.get(BLOCK_CACHE_ENV, "")
    if setting.lower() == "off":
        return None
    if setting:
        root = Path(setting)
    else:
        from obsbox.binaries.locate import cache_dir

        root = cache_dir() / "replay-blocks"
    try:
        max_mb = int(os.environ.get(MAX_MB_ENV, DEFAULT_MAX_MB))
    except ValueError:
        max_mb = DEFAULT_MAX_MB
    return BlockCache(root, max_mb * (1 << 20))


def file_digest(path: Path, memo_dir: Path | None = None) -> str:
    """sha256 of a file's content. With ``memo_dir``, remembered by (device, inode, size, mtime):
    a file rewritten in any way has another mtime or size and is hashed again."""
    st = path.stat()
    memo = None
    if memo_dir is not None:
        ident = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{path.resolve()}"
        memo = memo_dir / "digests" / hashlib.sha256(ident.encode()).hexdigest()
        try:
            return memo.read_text(encoding="ascii").strip()
        except OSError:
            pass
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(digest, encoding="ascii")
        except OSError:
            pass  # a cache that cannot be written is only slower
    return digest


def key_of(*parts: str) -> str:
    return hashlib.sha256("\0".join((FORMAT, *parts)).encode()).hexdigest()[:40]


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of ``source`` under ``target`` (copy where links cannot go)."""
    for dirpath, _, files in os.walk(source):
        rel = Path(dirpath).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(dirpath) / name, target / rel / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def _size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).stat().st_size
    return total


class BlockCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def digest(self, path: Path) -> str:
        return file_digest(path, self.root)

    def get(self, key: str, target: Path) -> dict[str, Any] | None:
        """Link the entry's blocks into ``target`` (made if missing); its info, or None on a miss."""
        entry = self.root / "entries" / key
        try:
            info = json.loads((entry / "info.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            _link_tree(entry / "blocks", target)
            os.utime(entry)  # recently used: pruned last
        except OSError:
            return None
        return dict(info)

    def put(self, key: str, blocks_dir: Path, info: dict[str, Any]) -> None:
        """Store the blocks of ``blocks_dir`` (left in place) under ``key``; errors only make it slower."""
        entries = self.root / "entries"
        try:
            entries.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=entries))
            _link_tree(blocks_dir, staging / "blocks")
            (staging / "info.json").write_text(json.dumps(info), encoding="utf-8")
            try:
                os.replace(staging, entries / key)
            except OSError:  # another run stored it first
                shutil.rmtree(staging, ignore_errors=True)
            self.prune()
        except OSError:
            pass

    def prune(self) -> None:
        """Remove the least recently used entries until the cache fits its bound."""
        entries = self.root / "entries"
        found = []
        for entry in entries.iterdir():
            if entry.name.startswith("."):
                if time.time() - entry.stat().st_mtime > 3600:  # staging left by a killed run
                    shutil.rmtree(entry, ignore_errors=True)
                continue
            found.append((entry.stat().st_mtime, _size(entry), entry))
        total = sum(size for _, size, _ in found)
        for _, size, entry in sorted(found):
            if total <= self.max_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True)
            total -= size
