"""A bounded synthetic scrape target, copied to a throwaway host and run there by its python3.

    python3 synthetic_target.py CONTROL_FILE FIRST_PORT SHARDS

It serves SHARDS targets on 127.0.0.1:FIRST_PORT.. (one per port, so Prometheus scrapes them in
parallel and each body stays small). Together they expose N series, N read from CONTROL_FILE at
every scrape, so the benchmark grows the load without restarting anything. Each series is a
counter with the label shape of a real HTTP service (service, route, method, code, pod) whose
value moves at every scrape, so the TSDB stores real deltas rather than constants. Stdlib only:
the host has no route out and no pip.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SERIES = 4_000_000  # a bound on the body whatever the control file says
METHODS = ("GET", "POST", "PUT", "DELETE")
CODES = ("200", "201", "404", "500")


def read_series(control: str) -> int:
    try:
        with open(control) as f:
            return max(0, min(int(f.read().strip() or 0), MAX_SERIES))
    except (OSError, ValueError):
        return 0


def body(shard: int, shards: int, series: int, tick: int) -> bytes:
    """The exposition of every series i with i % shards == shard, at scrape number `tick`."""
    lines = ["# TYPE obsbox_bench_requests_total counter\n"]
    lines += [
        f'obsbox_bench_requests_total{{service="svc-{i % 40}",route="/api/v1/r{(i // 40) % 250}",'
        f'method="{METHODS[i % 4]}",code="{CODES[(i // 4) % 4]}",pod="pod-{i // 10_000}"}} {tick * (i % 97 + 1)}\n'
        for i in range(shard, series, shards)
    ]
    return "".join(lines).encode()


def serve(control: str, port: int, shard: int, shards: int) -> ThreadingHTTPServer:
    ticks = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            with lock:
                ticks[0] += 1
                tick = ticks[0]
            payload = body(shard, shards, read_series(control), tick)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> None:
    control, first_port, shards = argv[0], int(argv[1]), int(argv[2])
    for shard in range(shards):
        serve(control, first_port + shard, shard, shards)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
