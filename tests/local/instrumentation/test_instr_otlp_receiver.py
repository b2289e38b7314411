"""The test OTLP receiver itself: it decodes what it is sent, refuses garbage and can hang."""

from __future__ import annotations

import gzip
import http.client
import socket

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from examples.otlp_receiver import OtlpReceiver


def _request() -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "probe"
    span = rs.scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "GET /probe", bytes(range(16)), bytes(range(8))
    return req.SerializeToString()


def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/v1/traces", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_receiver_decodes_gzip_protobuf() -> None:
    """A gzip-compressed protobuf export is answered 200 and its span is readable."""
    with OtlpReceiver() as receiver:
        body = gzip.compress(_request())
        status = _post(
            receiver.port, body, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        )
        assert status == 200
        [span] = receiver.spans()
        assert (span.name, span.trace_id, span.resource) == (
            "GET /probe",
            bytes(range(16)).hex(),
            {"service.name": "probe"},
        )


def test_receiver_refuses_undecodable_bodies() -> None:
    """A body that is not an OTLP message gets 400 and is recorded as an error, not as data."""
    with OtlpReceiver() as receiver:
        status = _post(receiver.port, b"\xff\xfenot protobuf", {"Content-Type": "application/x-protobuf"})
        assert status == 400
        assert receiver.spans() == [] and len(receiver.errors) == 1


def test_hanging_receiver_accepts_but_never_answers() -> None:
    """In hang mode the request is read but no response byte ever comes back (until stop)."""
    with OtlpReceiver(hang=True) as receiver:
        body = _request()
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
            head = f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            sock.sendall(head + body)
            assert receiver.wait_for(lambda: receiver.connections == 1, timeout=5)
            sock.settimeout(0.5)
            try:
                data = sock.recv(1)
            except TimeoutError:
                data = None
            assert data is None, "a hanging receiver answered"
