"""The install line of docs/instrumentation.md and of the README, in a fresh venv with the pip that this Python ships (the pip
users have before they think of upgrading it; 23.2 for Python 3.11), from PyPI."""

from __future__ import annotations

import ensurepip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SMOKE = """
import flask, obsbox_instrumentation as obsbox
runtime = obsbox.configure(service_name="smoke")
app = flask.Flask("smoke")
app.add_url_rule("/v1/items/<int:item_id>", "item", lambda item_id: "ok")
app.test_client().get("/v1/items/1").close()
print("instrumented", sorted(runtime.instrumented))
print(runtime.recorder.exposition("")[0].decode())
"""
SMOKE_ENV = {
    "PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none", "OBSBOX_PROMETHEUS_PORT": "0",
}
ALL_EXTRAS = "flask,django,fastapi,requests,httpx,sqlalchemy,psycopg,redis,grpc"


@pytest.fixture(scope="module")
def stock_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv made by `python -m venv`, with the pip bundled in this Python, not upgraded."""
    root = tmp_path_factory.mktemp("stock-pip")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    python = root / "venv" / "bin" / "python"
    version = subprocess.run(
        [str(python), "-m", "pip", "--version"], check=True, capture_output=True, text=True, timeout=60
    ).stdout.split()[1]
    assert version == ensurepip.version(), f"the venv's pip {version} is not the bundled {ensurepip.version()}"
    return python


def _install(python: Path, tmp_path: Path, extras: str) -> subprocess.CompletedProcess[str]:
    # A copy, so pip's in-tree build leaves nothing in the repository.
    source = tmp_path / "instrumentation"
    shutil.copytree(REPO / "instrumentation", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", f"{source}[{extras}]"],
        capture_output=True, text=True, timeout=900,
    )


@pytest.mark.timeout(1800)
def test_readme_install_line_resolves_with_the_stock_pip(stock_venv: Path, tmp_path: Path) -> None:
    """`pip install "./instrumentation[flask,requests]"` succeeds with the bundled pip, and a Flask app then records a request."""
    done = _install(stock_venv, tmp_path, "flask,requests")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    check = subprocess.run([str(stock_venv), "-c", SMOKE], capture_output=True, text=True, timeout=120, env=SMOKE_ENV)
    assert check.returncode == 0, check.stderr
    assert "instrumented ['flask', 'requests']" in check.stdout, check.stdout
    assert 'http_route="/v1/items/<int:item_id>"' in check.stdout, check.stdout


@pytest.mark.timeout(1800)
def test_every_extra_resolves_with_the_stock_pip(stock_venv: Path, tmp_path: Path) -> None:
    """Every extra docs/instrumentation.md lists installs together with the bundled pip."""
    done = _install(stock_venv, tmp_path, ALL_EXTRAS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
