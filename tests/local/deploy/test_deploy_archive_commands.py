"""The archive verify and extract shell commands, run for real in temporary directories."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

from obsbox.deploy.release import Release, extract_command, verify_command


def _release(filename: str, checksums: str = "sha256sums.txt", pin: str = "", kind: str = "tar", strip: int = 1) -> Release:
    return Release("prometheus", "2.42.0", filename, f"http://m/{filename}", checksums, "http://m/sums", pin, kind, strip)


def _tarball(path: Path, top: str, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))


def _sh(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False, timeout=60)


def test_deploy_verify_accepts_archive_listed_in_checksum_file(tmp_path: Path) -> None:
    """An archive whose sha256 matches its line in sha256sums.txt passes."""
    archive = tmp_path / "prometheus-2.42.0.linux-amd64.tar.gz"
    archive.write_bytes(b"release bytes")
    digest = hashlib.sha256(b"release bytes").hexdigest()
    (tmp_path / "sha256sums.txt").write_text(f"{'0' * 64}  other.tar.gz\n{digest}  {archive.name}\n")
    result = _sh(verify_command(_release(archive.name), str(tmp_path)))
    assert result.returncode == 0, result.stderr


def test_deploy_verify_rejects_tampered_archive_and_removes_it(tmp_path: Path) -> None:
    """A mismatching archive fails verification and is deleted so the next run fetches it again."""
    archive = tmp_path / "prometheus-2.42.0.linux-amd64.tar.gz"
    archive.write_bytes(b"tampered")
    (tmp_path / "sha256sums.txt").write_text(f"{hashlib.sha256(b'original').hexdigest()}  {archive.name}\n")
    result = _sh(verify_command(_release(archive.name), str(tmp_path)))
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
    assert not archive.exists()


def test_deploy_verify_rejects_archive_missing_from_checksum_file(tmp_path: Path) -> None:
    """An archive the checksum file does not list fails with a message naming both files."""
    archive = tmp_path / "loki-linux-amd64.zip"
    archive.write_bytes(b"x")
    (tmp_path / "SHA256SUMS").write_text(f"{'1' * 64}  loki-linux-arm64.zip\n")
    result = _sh(verify_command(_release(archive.name, "SHA256SUMS", kind="zip"), str(tmp_path)))
    assert result.returncode != 0
    assert "loki-linux-amd64.zip is not listed in SHA256SUMS" in result.stderr


def test_deploy_verify_checks_pinned_sha_too(tmp_path: Path) -> None:
    """A pinned sha256 that differs fails even when the checksum file agrees."""
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"bytes")
    (tmp_path / "sha256sums.txt").write_text(f"{hashlib.sha256(b'bytes').hexdigest()}  a.tar.gz\n")
    result = _sh(verify_command(_release("a.tar.gz", pin="f" * 64), str(tmp_path)))
    assert result.returncode != 0


def test_deploy_verify_pin_alone_for_grafana(tmp_path: Path) -> None:
    """Without a checksum file the pinned sha256 alone verifies the archive."""
    archive = tmp_path / "grafana_12.1.1_1_linux_amd64.tar.gz"
    archive.write_bytes(b"grafana")
    release = _release(archive.name, checksums="", pin=hashlib.sha256(b"grafana").hexdigest())
    assert _sh(verify_command(release, str(tmp_path))).returncode == 0


def test_deploy_extract_strips_top_directory(tmp_path: Path) -> None:
    """A release tarball is unpacked without its top directory into the versioned dir."""
    archive = tmp_path / "p.tar.gz"
    _tarball(archive, "prometheus-2.42.0.linux-amd64", {"prometheus": b"#!/bin/sh\n", "promtool": b"#!/bin/sh\n"})
    dest = tmp_path / "opt" / "prometheus" / "2.42.0"
    dest.parent.mkdir(parents=True)
    result = _sh(extract_command(_release("p.tar.gz"), str(archive), str(dest)))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["prometheus", "promtool"]
    assert not Path(f"{dest}.partial").exists()


def test_deploy_extract_unzips_loki(tmp_path: Path) -> None:
    """Loki's zip is unpacked with its binary at the top of the versioned dir."""
    archive = tmp_path / "loki-linux-amd64.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("loki-linux-amd64", b"#!/bin/sh\n")
    dest = tmp_path / "loki" / "3.5.3"
    dest.parent.mkdir(parents=True)
    result = _sh(extract_command(_release(archive.name, kind="zip", strip=0), str(archive), str(dest)))
    assert result.returncode == 0, result.stderr
    assert (dest / "loki-linux-amd64").is_file()


def test_deploy_extract_failure_leaves_previous_install(tmp_path: Path) -> None:
    """A corrupt archive fails and the existing install directory stays as it was."""
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(b"not a tarball")
    dest = tmp_path / "opt" / "x"
    dest.mkdir(parents=True)
    (dest / "old").write_text("kept")
    result = _sh(extract_command(_release("bad.tar.gz"), str(archive), str(dest)))
    assert result.returncode != 0
    assert (dest / "old").read_text() == "kept"
