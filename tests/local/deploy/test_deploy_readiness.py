"""The readiness wait, run for real against a loopback HTTP server."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from obsbox.deploy.units import ready_command


def _run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False, timeout=60)


def test_deploy_ready_succeeds_on_200(http_status_server) -> None:  # type: ignore[no-untyped-def]
    """A service answering 200 on its readiness path is ready."""
    url, _handler = http_status_server
    assert _run(ready_command("prometheus", f"{url}/-/ready", 5)).returncode == 0


def test_deploy_ready_fails_clearly_when_never_ready(http_status_server) -> None:  # type: ignore[no-untyped-def]
    """A service that keeps answering 503 fails the wait with the URL and its last answer."""
    url, handler = http_status_server
    handler.status = 503
    result = _run(ready_command("loki", f"{url}/ready", 2))
    assert result.returncode == 1
    assert f"loki did not become ready at {url}/ready within 2s" in result.stderr
    assert "503" in result.stderr


def test_deploy_ready_fails_when_nothing_listens() -> None:
    """A closed port fails the wait and says the connection was refused."""
    result = _run(ready_command("tempo", "http://127.0.0.1:1/ready", 1))
    assert result.returncode == 1
    assert "connection refused" in result.stderr


def test_deploy_ready_sends_basic_auth_from_password_file(http_status_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With basic auth the probe sends the credentials read from the password file."""
    url, handler = http_status_server
    password = tmp_path / "pw"
    password.write_text("s3cret")
    assert _run(ready_command("prometheus", f"{url}/-/ready", 5, "obsbox", str(password))).returncode == 0
    expected = "Basic " + base64.b64encode(b"obsbox:s3cret").decode()
    assert handler.seen_headers[-1]["Authorization"] == expected
