"""A throwaway Prometheus on a loopback port: start, wait ready, query, write, stop.

The engine never evaluates PromQL itself: every expression goes to this server. Samples that
OpenMetrics cannot carry (Prometheus' staleness marker, which is a NaN with special bits) and
rule results fed back between evaluation layers go in through the remote-write receiver, whose
protobuf carries the exact float bits; the TSDB's out-of-order window lets them land at any time.
"""

from __future__ import annotations

import functools
import operator
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import orjson
import requests

from obsbox.binaries import locate
from obsbox.formats import format_duration_ms
from obsbox.replay.children import spawn
from obsbox.replay.model import STALE_NAN_BITS, Series, is_stale

# query_range refuses a range of more than 11,000 steps ((end - start) / step > 11000), so 11,000
# points are always accepted: a week at one minute (10,080 points) is one request.
MAX_POINTS_PER_QUERY = 11_000
STARTUP_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 120.0
# One remote-write request carries at most this many samples.
WRITE_BATCH_SAMPLES = 20_000
# The longest duration Prometheus can hold (a Go time.Duration is at most ~292 years): used for
# retention and the out-of-order window, so data from 1970 (promtool tests) to 2262 is kept and
# rule results can be written back at any time in it.
LONGEST_DURATION = "106750d"
# Select another engine than obsbox's pinned build (`--prometheus` on the commands sets it).
PROMETHEUS_ENV = "OBSBOX_PROMETHEUS"
PROMTOOL_ENV = "OBSBOX_PROMTOOL"


class PrometheusError(RuntimeError):
    """Prometheus could not be started, or refused a query or a write."""


def find_binary(name: str) -> str | None:
    """The engine's prometheus or promtool: OBSBOX_PROMETHEUS / OBSBOX_PROMTOOL when set (promtool
    defaults to the one beside the chosen prometheus), else obsbox's pinned build, else PATH."""
    chosen = os.environ.get(PROMETHEUS_ENV)
    if name == "prometheus" and chosen:
        return chosen
    if name == "promtool":
        explicit = os.environ.get(PROMTOOL_ENV)
        if explicit:
            return explicit
        if chosen:
            beside = Path(chosen).with_name("promtool")
            return str(beside) if beside.is_file() else shutil.which("promtool")
    return locate.tool(name)


@functools.lru_cache(maxsize=16)
def binary_version(binary: str) -> str:
    """`3.5.0` from `prometheus --version` (or promtool's); "" when it does not say."""
    try:
        proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    match = re.search(r"version (\d+\.\d+\.\d+\S*)", proc.stdout + proc.stderr)
    return match.group(1) if match else ""


def major_minor(version: str) -> tuple[int, int] | None:
    """(3, 5) from "3.5.0" or "2.42.0+ds"; None when it is not a version."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def engine_major(binary: str | None = None) -> int:
    """The major version of the engine's prometheus (``binary``, else the one find_binary picks):
    the promtool test-runner semantics to follow. 3 when the binary does not say (users run 3.x)."""
    chosen = binary or find_binary("prometheus")
    parsed = major_minor(binary_version(chosen)) if chosen else None
    return parsed[0] if parsed else 3


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_config(evaluation_interval_s: float, external_labels: Mapping[str, str] | None = None) -> str:
    """prometheus.yml for the replay server: no scrapes, and an out-of-order window wide enough
    for any sample (rule results are written back at times before the newest input)."""
    lines = [
        "global:",
        f"  evaluation_interval: {format_duration_ms(round(evaluation_interval_s * 1000))}",
    ]
    if external_labels:
        lines.append("  external_labels:")
        lines.extend(f"    {k}: {_yaml_str(v)}" for k, v in sorted(external_labels.items()))
    lines += [
        "storage:",
        "  tsdb:",
        f"    out_of_order_time_window: {LONGEST_DURATION}",
        "",
    ]
    return "\n".join(lines)


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'




@dataclass
class QueryResult:
    """One series of a range or instant query: labels and (timestamp ms, value) points."""

    labels: dict[str, str]
    points: list[tuple[int, float]]


class PrometheusServer:
    """Prometheus over ``data_dir`` on a free loopback port; a context manager that always stops it."""

    def __init__(
        self,
        data_dir: Path,
        config_dir: Path,
        *,
        evaluation_interval_s: float = 60.0,
        external_labels: Mapping[str, str] | None = None,
        binary: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.config_path = config_dir / "prometheus.yml"
        self.log_path = config_dir / "prometheus.log"
        self.evaluation_interval_s = evaluation_interval_s
        self.external_labels = dict(external_labels or {})
        self.binary = binary or find_binary("prometheus")
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.binary is None:
            raise PrometheusError("no prometheus binary found (install Debian's prometheus package)")
        self.config_path.write_text(render_config(self.evaluation_interval_s, self.external_labels), encoding="utf-8")
        # A port taken between choosing and binding makes Prometheus exit: try a few.
        for _ in range(5):
            self.port = free_port()
            args = [
                self.binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.data_dir}",
                # Recorded incidents and promtool tests (near epoch 0) are far older than the
                # default 15 days: without this they are deleted on load and never served.
                f"--storage.tsdb.retention.time={LONGEST_DURATION}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
                "--enable-feature=promql-negative-offset",
                "--query.max-samples=200000000",
                # Replays of long recordings ask for many points at once.
                "--query.timeout=10m",
            ]
            with open(self.log_path, "ab") as log:
                self.process = spawn(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            if self._wait_ready():
                return
            self.stop()
        raise PrometheusError(f"prometheus did not become ready; log: {self._log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                if self._session.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        errors = [ln for ln in lines if "level=error" in ln or "err=" in ln]
        return (errors or lines or ["(empty log)"])[-1][:500]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        except KeyboardInterrupt:
            # A second Ctrl-C while it shuts down: do not leave it running.
            process.kill()
            process.wait(timeout=10)
            raise

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._session.close()

    # --- queries -------------------------------------------------------------------------

    def _api(self, path: str, params: dict[str, str]) -> dict[str, object]:
        try:
            # Uncompressed: over loopback gzip only costs Prometheus CPU that the queries need.
            response = self._session.post(
                f"{self.url}{path}", data=params, timeout=QUERY_TIMEOUT_S, headers={"Accept-Encoding": "identity"}
            )
        except requests.RequestException as exc:
            raise PrometheusError(f"query failed: {exc}") from None
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PrometheusError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType', 'error')}: {body.get('error', response.text[:200])}")
        data = body["data"]
        assert isinstance(data, dict)
        return data

    def series_count(self, start_ms: int, end_ms: int) -> int:
        """How many distinct series hold samples between start and end (the series API)."""
        try:
            response = self._session.post(
                f"{self.url}/api/v1/series",
                data={"match[]": '{__name__=~".+"}', "start": _seconds(start_ms), "end": _seconds(end_ms)},
                timeout=QUERY_TIMEOUT_S,
            )
            body = orjson.loads(response.content)
        except (requests.RequestException, orjson.JSONDecodeError) as exc:
            raise PrometheusError(f"series query failed: {exc}") from None
        if body.get("status") != "success" or not isinstance(body.get("data"), list):
            raise PrometheusError(f"{body.get('errorType', 'error')}: {body.get('error', response.text[:200])}")
        return len(body["data"])

    def query(self, expr: str, at_ms: int) -> tuple[str, list[QueryResult]]:
        """An instant query: the result type and its series (a scalar becomes one label-less series)."""
        data = self._api("/api/v1/query", {"query": expr, "time": _seconds(at_ms)})
        kind = str(data["resultType"])
        result = data["result"]
        if kind in ("scalar", "string"):
            assert isinstance(result, list)
            return kind, [QueryResult({}, [(at_ms, _value(result[1]))])]
        assert isinstance(result, list)
        return kind, [QueryResult(dict(r["metric"]), [(at_ms, _value(r["value"][1]))]) for r in result]

    def query_range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[QueryResult]:
        """A range query over [start, end] at ``step``, chunked under the points-per-series limit."""
        merged: dict[tuple[tuple[str, str], ...], QueryResult] = {}
        for chunk_start, chunk_end in chunk_range(start_ms, end_ms, step_ms):
            data = self._api(
                "/api/v1/query_range",
                {
                    "query": expr,
                    "start": _seconds(chunk_start),
                    "end": _seconds(chunk_end),
                    "step": _seconds(step_ms),
                },
            )
            kind = data["resultType"]
            result = data["result"]
            assert isinstance(result, list)
            if kind == "scalar":
                # Not returned by query_range (a scalar becomes a matrix), kept for safety.
                continue
            for r in result:
                labels = dict(r["metric"])
                key = tuple(sorted(labels.items()))
                entry = merged.setdefault(key, QueryResult(labels, []))
                values = r["values"]
                if values:
                    # Millions of points: converted with map/zip (C loops), not a Python loop per point.
                    times, texts = zip(*values)
                    stamps = map(round, map(operator.mul, times, repeat(1000)))
                    entry.points.extend(zip(stamps, map(float, texts)))
        return list(merged.values())

    # --- writes ----------------------------------------------------------------------------

    def write(self, series: Iterable[Series]) -> int:
        """Append samples through the remote-write receiver; returns how many were written."""
        total = 0
        for body, count in _batches(series):
            try:
                response = self._session.post(
                    f"{self.url}/api/v1/write",
                    data=snappy_literal(body),
                    headers={
                        "Content-Encoding": "snappy",
                        "Content-Type": "application/x-protobuf",
                        "X-Prometheus-Remote-Write-Version": "0.1.0",
                    },
                    timeout=QUERY_TIMEOUT_S,
                )
            except requests.RequestException as exc:
                raise PrometheusError(f"remote write failed: {exc}") from None
            if response.status_code >= 300:
                raise PrometheusError(f"remote write refused (HTTP {response.status_code}): {response.text.strip()[:300]}")
            total += count
        return total


def chunk_range(start_ms: int, end_ms: int, step_ms: int) -> Iterator[tuple[int, int]]:
    """Sub-ranges of [start, end] on the same step grid with at most MAX_POINTS_PER_QUERY points."""
    if step_ms <= 0:
        raise ValueError("step must be positive")
    span = (MAX_POINTS_PER_QUERY - 1) * step_ms
    t = start_ms
    while t <= end_ms:
        last = min(end_ms, t + span)
        last = t + ((last - t) // step_ms) * step_ms
        yield t, last
        t = last + step_ms


def _seconds(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def _value(text: object) -> float:
    return float(str(text))


# --- remote-write encoding (protobuf by hand: four message types, no generated code) ---------


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _encode_series(labels: Mapping[str, str], samples: Sequence[tuple[int, float]]) -> bytes:
    parts = []
    for name, text in sorted(labels.items()):
        parts.append(_field_bytes(1, _field_bytes(1, name.encode()) + _field_bytes(2, text.encode())))
    for ts, value in samples:
        # The marker's exact bits matter: a plain NaN is a value, the marker ends the series.
        raw = struct.pack("<Q", STALE_NAN_BITS) if is_stale(value) else struct.pack("<d", value)
        sample = b"\x09" + raw + _varint(2 << 3) + _varint(ts)
        parts.append(_field_bytes(2, sample))
    return b"".join(parts)


def _batches(series: Iterable[Series]) -> Iterator[tuple[bytes, int]]:
    parts: list[bytes] = []
    count = 0
    for s in series:
        samples = list(zip(s.timestamps_ms, s.values))
        for i in range(0, len(samples), WRITE_BATCH_SAMPLES):
            chunk = samples[i : i + WRITE_BATCH_SAMPLES]
            parts.append(_field_bytes(1, _encode_series(s.labels, chunk)))
            count += len(chunk)
            if count >= WRITE_BATCH_SAMPLES:
                yield b"".join(parts), count
                parts, count = [], 0
    if parts:
        yield b"".join(parts), count


def snappy_literal(data: bytes) -> bytes:
    """Snappy block format made of literals only: valid input for any snappy decoder.

    The payload goes over loopback, so compressing it would buy nothing.
    """
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i : i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        else:
            out.append(61 << 2)
            out += n.to_bytes(2, "little")
        out += chunk
    return bytes(out)
