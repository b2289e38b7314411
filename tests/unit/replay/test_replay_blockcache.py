"""The block cache: entries found by key, a changed recording gets another key, the bound holds."""

from __future__ import annotations

import os
from pathlib import Path

from obsbox.replay.blockcache import BlockCache, default_cache, key_of


def _blocks(directory: Path, size: int) -> Path:
    block = directory / "01ABC" / "chunks"
    block.mkdir(parents=True)
    (block / "000001").write_bytes(b"x" * size)
    (directory / "01ABC" / "meta.json").write_text("{}")
    return directory


def test_put_then_get_links_the_blocks_and_returns_the_info(tmp_path: Path) -> None:
    cache = BlockCache(tmp_path / "cache", 1 << 20)
    cache.put("k1", _blocks(tmp_path / "made", 10), {"samples": 3})
    target = tmp_path / "data"
    assert cache.get("k1", target) == {"samples": 3}
    assert (target / "01ABC" / "chunks" / "000001").read_bytes() == b"x" * 10
    assert cache.get("other", tmp_path / "data2") is None


def test_a_changed_recording_has_another_digest(tmp_path: Path) -> None:
    """The digest memo is keyed by the file's identity and mtime: a rewrite is hashed again."""
    cache = BlockCache(tmp_path / "cache", 1 << 20)
    recording = tmp_path / "r.om"
    recording.write_text("a 1 1\n# EOF\n")
    first = cache.digest(recording)
    assert cache.digest(recording) == first
    recording.write_text("a 2 1\n# EOF\n")
    st = recording.stat()
    os.utime(recording, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert cache.digest(recording) != first
    assert key_of("file", first, "promtool 3.5.0") != key_of("file", cache.digest(recording), "promtool 3.5.0")


def test_least_recently_used_entries_go_when_over_the_bound(tmp_path: Path) -> None:
    """Storing a third entry over a bound of two drops the one used longest ago, not the oldest stored."""
    cache = BlockCache(tmp_path / "cache", 2500)
    for i, key in enumerate(("old", "used")):
        cache.put(key, _blocks(tmp_path / f"made{i}", 1000), {})
        os.utime(tmp_path / "cache" / "entries" / key, (1000 + i, 1000 + i))
    assert cache.get("old", tmp_path / "d0") is not None  # now the most recently used
    cache.put("new", _blocks(tmp_path / "made2", 1000), {})
    left = sorted(p.name for p in (tmp_path / "cache" / "entries").iterdir())
    assert left == ["new", "old"]


def test_cache_location_and_off_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OBSBOX_BLOCK_CACHE", "off")
    assert default_cache() is None
    monkeypatch.setenv("OBSBOX_BLOCK_CACHE", str(tmp_path / "bc"))
    cache = default_cache()
    assert cache is not None and cache.root == tmp_path / "bc"
    monkeypatch.delenv("OBSBOX_BLOCK_CACHE")
    monkeypatch.setenv("OBSBOX_CACHE_DIR", str(tmp_path / "c"))
    cache = default_cache()
    assert cache is not None and cache.root == tmp_path / "c" / "replay-blocks"
