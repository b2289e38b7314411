"""A small real OTLP/HTTP receiver: decodes what services export, for tests, benchmarks and demos.

It speaks the OTLP/HTTP protocol with the official ``opentelemetry-proto`` message definitions
(protobuf or JSON bodies, gzip-aware) and keeps every decoded request in memory. In ``hang`` mode
it accepts connections and reads requests but never answers, which is how a collector that is
stuck looks to an exporter. It binds 127.0.0.1 on a free port unless told otherwise. ``prefix``
serves the signal paths under a base path, as Loki does (``/otlp/v1/logs``).

``OtlpGrpcReceiver`` is the same over OTLP/gRPC (the services ``opentelemetry-proto`` defines,
served with grpcio), the protocol of Tempo's OTLP endpoint and the collector's ``otlp`` exporter.

    python -m examples.otlp_receiver --port 4318     # print a line per export, Ctrl-C to stop
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
}
MAX_BODY = 64 * 1024 * 1024
DELTA = 1
CUMULATIVE = 2


def any_value(value: AnyValue) -> Any:
    """The Python value of an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(kvs: Any) -> dict[str, Any]:
    """A repeated KeyValue field as a dict."""
    out: dict[str, Any] = {}
    kv: KeyValue
    for kv in kvs:
        out[kv.key] = any_value(kv.value)
    return out


@dataclass(frozen=True)
class SpanRecord:
    resource: dict[str, Any]
    name: str
    trace_id: str
    span_id: str
    kind: int
    attributes: dict[str, Any]
    status_code: int
    events: tuple[dict[str, Any], ...]
    parent_span_id: str = ""


@dataclass(frozen=True)
class LogRecord:
    resource: dict[str, Any]
    body: Any
    severity_text: str
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class MetricPoint:
    resource: dict[str, Any]
    name: str
    attributes: dict[str, Any]
    # sum/gauge value, or the count of a histogram
    value: float
    # 1 delta, 2 cumulative, 0 for gauges (opentelemetry.proto.metrics.v1.AggregationTemporality)
    temporality: int = 0
    time_unix_nano: int = 0


class _Store:
    """Every decoded export request, by signal path, and readers over them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[tuple[str, Message]] = []
        self._raw: list[bytes] = []
        self._released = threading.Event()

    # -- what arrived -------------------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[Message]:
        with self._lock:
            return [m for p, m in self._requests if path is None or p == path]

    def raw_bodies(self) -> list[bytes]:
        """Every decoded (un-gzipped) request body, for searching for leaked strings."""
        with self._lock:
            return list(self._raw)

    def spans(self) -> list[SpanRecord]:
        out = []
        for req in self.requests("/v1/traces"):
            for rs in req.resource_spans:  # type: ignore[attr-defined]
                res = attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        out.append(
                            SpanRecord(
                                resource=res,
                                name=s.name,
                                trace_id=s.trace_id.hex(),
                                span_id=s.span_id.hex(),
                                kind=s.kind,
                                attributes=attributes(s.attributes),
                                status_code=s.status.code,
                                events=tuple(
                                    {"name": e.name, "attributes": attributes(e.attributes)} for e in s.events
                                ),
                                parent_span_id=s.parent_span_id.hex(),
                            )
                        )
        return out

    def logs(self) -> list[LogRecord]:
        out = []
        for req in self.requests("/v1/logs"):
            for rl in req.resource_logs:  # type: ignore[attr-defined]
                res = attributes(rl.resource.attributes)
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        out.append(
                            LogRecord(
                                resource=res,
                                body=any_value(r.body),
                                severity_text=r.severity_text,
                                trace_id=r.trace_id.hex(),
                                span_id=r.span_id.hex(),
                                attributes=attributes(r.attributes),
                            )
                        )
        return out

    def metric_points(self) -> list[MetricPoint]:
        out: list[MetricPoint] = []
        for req in self.requests("/v1/metrics"):
            for rm in req.resource_metrics:  # type: ignore[attr-defined]
                res = attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        out.extend(MetricPoint(res, *point) for point in _points(m))
        return out

    def metric_total(self, name: str, where: Callable[[MetricPoint], bool] | None = None) -> float:
        """The total of a counter or histogram count over every exporting process.

        Delta points add up; of cumulative points only the newest per process and attribute
        set counts. ``where`` filters points (e.g. by attribute).
        """
        total = 0.0
        latest: dict[tuple[Any, ...], MetricPoint] = {}
        for point in self.metric_points():
            if point.name != name or (where is not None and not where(point)):
                continue
            if point.temporality == DELTA:
                total += point.value
                continue
            key = (
                point.resource.get("process.pid"),
                point.resource.get("service.instance.id"),
                tuple(sorted((k, str(v)) for k, v in point.attributes.items())),
            )
            if key not in latest or latest[key].time_unix_nano <= point.time_unix_nano:
                latest[key] = point
        return total + sum(p.value for p in latest.values())

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
        """Poll predicate until it holds or the deadline passes; returns whether it held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self._released.wait(interval)
        return predicate()

    def _record(self, path: str, body: bytes, msg: Message) -> None:
        with self._lock:
            self._requests.append((path, msg))
            self._raw.append(body)


class OtlpReceiver(_Store):
    """An OTLP/HTTP receiver on a loopback port; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, hang: bool = False, prefix: str = "") -> None:
        super().__init__()
        self.hang = hang
        self.prefix = prefix.rstrip("/")
        self.connections = 0
        self.errors: list[str] = []
        self._open: set[socket.socket] = set()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/<signal>)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def start(self) -> OtlpReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        # release hung handlers first, or their connections would outlive the receiver
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        # and end kept-alive connections: a stopped receiver answers nothing, like a dead backend
        with self._lock:
            open_connections = list(self._open)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the HTTP side --------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                with receiver._lock:
                    receiver.connections += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._reply(413, b"too large", "text/plain")
                    return
                body = self.rfile.read(length)
                if receiver.hang:
                    # a stuck collector: the request is in, the answer never comes
                    receiver._released.wait()
                    self.close_connection = True
                    return
                path = self.path.split("?")[0]
                if receiver.prefix and path.startswith(receiver.prefix + "/"):
                    path = path[len(receiver.prefix) :]
                pair = SIGNALS.get(path)
                if pair is None:
                    self._reply(404, b"unknown signal path", "text/plain")
                    return
                try:
                    body = _decompress(body, self.headers.get("Content-Encoding", ""))
                    req_cls, resp_cls = pair
                    msg = req_cls()
                    if "json" in self.headers.get("Content-Type", ""):
                        json_format.Parse(body.decode("utf-8"), msg)
                    else:
                        msg.ParseFromString(body)
                except (DecodeError, json_format.ParseError, OSError, zlib.error, UnicodeDecodeError) as exc:
                    receiver.errors.append(f"{self.path}: {exc}")
                    self._reply(400, f"cannot decode: {exc}".encode(), "text/plain")
                    return
                receiver._record(path, body, msg)
                self._reply(200, resp_cls().SerializeToString(), "application/x-protobuf")

            def _reply(self, code: int, payload: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


class OtlpGrpcReceiver(_Store):
    """An OTLP/gRPC receiver on a loopback port (needs grpcio); start() again after stop() to
    come back on the same port, keeping what arrived before."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        """host:port, as the collector's ``otlp`` exporter and Tempo's config spell it."""
        return f"{self.host}:{self.port}"

    def start(self) -> OtlpGrpcReceiver:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        store = self

        def servicer(base: type, path: str, response: type[Message]) -> Any:
            class Servicer(base):  # type: ignore[misc, valid-type]
                def Export(self, request: Message, context: Any) -> Message:  # noqa: N802 - gRPC method name
                    store._record(path, request.SerializeToString(), request)
                    return response()

            return Servicer()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            servicer(trace_service_pb2_grpc.TraceServiceServicer, "/v1/traces", ExportTraceServiceResponse), server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            servicer(metrics_service_pb2_grpc.MetricsServiceServicer, "/v1/metrics", ExportMetricsServiceResponse),
            server,
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            servicer(logs_service_pb2_grpc.LogsServiceServicer, "/v1/logs", ExportLogsServiceResponse), server
        )
        bound = server.add_insecure_port(f"{self.host}:{self.port}")
        if not bound:
            raise OSError(f"OTLP/gRPC receiver cannot bind {self.host}:{self.port}")
        self.port = bound
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(timeout=5)
            self._server = None

    def __enter__(self) -> OtlpGrpcReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise OSError(f"unsupported Content-Encoding {encoding!r}")


def _points(metric: Any) -> Iterator[tuple[str, dict[str, Any], float, int, int]]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return
    data = getattr(metric, kind)
    temporality = int(getattr(data, "aggregation_temporality", 0))
    for p in data.data_points:
        if kind in ("sum", "gauge"):
            value = float(p.as_double if p.WhichOneof("value") == "as_double" else p.as_int)
        else:  # histogram, exponential_histogram, summary: the count
            value = float(p.count)
        yield metric.name, attributes(p.attributes), value, temporality, int(p.time_unix_nano)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--hang", action="store_true", help="accept requests and never answer")
    parser.add_argument("--quiet", action="store_true", help="print only the start line")
    args = parser.parse_args(argv)
    receiver = OtlpReceiver(args.host, args.port, hang=args.hang).start()
    print(f"OTLP/HTTP receiver on {receiver.endpoint} (hang={args.hang})", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(1)  # the console printer's pace, not synchronisation
            reqs = receiver.requests()
            for msg in [] if args.quiet else reqs[seen:]:
                print(f"{type(msg).__name__}: {msg.ByteSize()} bytes", flush=True)
            seen = len(reqs)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
