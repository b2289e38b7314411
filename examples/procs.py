"""Start and stop the demo's processes (demo service, payments, worker, redis, prometheus).

Shared by the tests, the benchmark and ``make demo``: every process runs in its own session so
stopping kills its whole group (gunicorn master and workers), and every wait polls with a deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO_ROOT / "examples" / "demo_service" / "gunicorn_conf.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """GET url and return the status, or None when nothing answers."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Call predicate until it is true or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)  # polling interval, bounded by the deadline
    return bool(predicate())


@dataclass
class ManagedProcess:
    """A child process in its own session, with its output in a log file."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, object] = field(default_factory=dict)
    cwd: Path = REPO_ROOT

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                list(self.argv),
                env=dict(self.env),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_http(self, url: str, timeout: float = 30.0, ok: tuple[int, ...] = (200,)) -> None:
        """Poll url until it answers one of ok; raise with the process output otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-4000:]}")
            if http_status(url) in ok:
                return
            time.sleep(0.05)  # polling interval of a bounded readiness wait
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout}s:\n{self.output()[-4000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever of the group is left."""
        if self.proc is None:
            return
        _killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        # the leader may be gone while a worker of its group lingers: kill the group regardless
        _killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def child_pids(pid: int) -> list[int]:
    """Direct children of pid (Linux /proc), e.g. a gunicorn master's workers."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        pass
    return out


def rss_mib(pid: int) -> float:
    """Resident set size of pid in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


def demo_env(base: Mapping[str, str] | None = None, /, **overrides: str) -> dict[str, str]:
    """The environment for a demo process: the caller's, minus inherited OTEL/OBSBOX settings."""
    env = {
        k: v
        for k, v in (base if base is not None else os.environ).items()
        if not k.startswith(("OTEL_", "OBSBOX_", "PROMETHEUS_MULTIPROC"))
    }
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def gunicorn_argv(
    port: int,
    workers: int = 1,
    max_requests: int = 0,
    jitter: int = 0,
    app: str = "examples.demo_service.app:app",
    launcher: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """gunicorn serving the demo on 127.0.0.1:port, optionally behind a launcher such as obsbox-instrument."""
    argv = [
        *launcher,
        str(VENV_BIN / "gunicorn"),
        "-c",
        str(GUNICORN_CONF),
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        *extra,
    ]
    if max_requests:
        argv += ["--max-requests", str(max_requests), "--max-requests-jitter", str(jitter)]
    return [*argv, app]


def redis_argv(port: int, workdir: Path) -> list[str]:
    """A throwaway redis-server on loopback: no persistence, no protected-mode surprises."""
    return [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
